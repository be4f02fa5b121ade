"""Registering, reviewing and revising catalog entries; who may do what; what each caller sees."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from sluice.catalog import service
from sluice.catalog.schemas import ResourceDescription, ReviewDecision, SearchQuery
from sluice.catalog.vocab import OpenType, RevisionStatus
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.identity.actor import Actor
from tests.catalog.conftest import Actors, draft

PUBLISH = ReviewDecision(decision="publish")


def description_of(code_and_changes: dict[str, object]) -> ResourceDescription:
    return ResourceDescription.model_validate(draft(**code_and_changes).model_dump(exclude={"code"}))  # type: ignore[arg-type]


def codes_found(db: Session, actor: Actor, q: str) -> list[str]:
    return [r.code for r in service.search_resources(db, actor, query=SearchQuery(q=q, limit=100)).items]


def test_a_registered_resource_is_a_draft_seen_only_by_its_provider(db: Session, who: Actors) -> None:
    created = service.register_resource(db, who["psb-admin"], data=draft())
    assert (created.status, created.revision, created.published_at) == (RevisionStatus.DRAFT, 1, None)
    assert service.get_resource(db, who["psb-analyst"], code="psb.vehicles").code == "psb.vehicles"
    with pytest.raises(NotFound):
        service.get_resource(db, who["civil-analyst"], code="psb.vehicles")
    assert "psb.vehicles" not in codes_found(db, who["civil-analyst"], "机动车")
    assert "psb.vehicles" in codes_found(db, who["psb-analyst"], "机动车")


def test_the_manager_publishes_and_departments_then_see_it(db: Session, who: Actors) -> None:
    service.register_resource(db, who["psb-admin"], data=draft())
    submitted = service.submit_resource(db, who["psb-admin"], code="psb.vehicles")
    assert submitted.status is RevisionStatus.SUBMITTED
    assert "psb.vehicles" in [r.code for r in service.list_review_queue(db, who["manager"])]
    published = service.review_resource(db, who["manager"], code="psb.vehicles", decision=PUBLISH)
    assert published.status is RevisionStatus.PUBLISHED
    assert published.published_at is not None
    assert service.get_resource(db, who["civil-analyst"], code="psb.vehicles").title_zh == "机动车登记信息"
    assert "psb.vehicles" in codes_found(db, who["civil-analyst"], "机动车 登记")
    with pytest.raises(NotFound):  # conditional sharing, not open: the public does not see it
        service.get_resource(db, Actor.anonymous(), code="psb.vehicles")
    with pytest.raises(NotFound):  # nor do enterprises
        service.get_resource(db, who["bank-analyst"], code="psb.vehicles")


def test_a_returned_revision_needs_a_comment_and_can_be_fixed_and_resubmitted(db: Session, who: Actors) -> None:
    service.register_resource(db, who["psb-admin"], data=draft())
    service.submit_resource(db, who["psb-admin"], code="psb.vehicles")
    with pytest.raises(Invalid, match="comment"):
        service.review_resource(db, who["manager"], code="psb.vehicles", decision=ReviewDecision(decision="return"))
    returned = service.review_resource(
        db,
        who["manager"],
        code="psb.vehicles",
        decision=ReviewDecision(decision="return", comment="请补充字段的数据元 / add data elements"),
    )
    assert returned.status is RevisionStatus.RETURNED
    service.update_resource(
        db, who["psb-admin"], code="psb.vehicles", data=description_of({"title_en": "Motor vehicles"})
    )
    service.submit_resource(db, who["psb-admin"], code="psb.vehicles")
    final = service.review_resource(db, who["manager"], code="psb.vehicles", decision=PUBLISH)
    assert (final.title_en, final.revision) == ("Motor vehicles", 1)
    history = service.list_revisions(db, who["psb-admin"], code="psb.vehicles")
    assert history[0].review_comment is None
    assert history[0].reviewed_by == "manager"


def test_editing_a_published_resource_makes_a_new_revision_reviewed_again(db: Session, who: Actors) -> None:
    admin = who["amr-admin"]
    before = service.get_resource(db, admin, code="amr.enterprises")
    changed = before.model_dump(
        exclude={
            "code",
            "organisation",
            "organisation_name_zh",
            "organisation_name_en",
            "revision",
            "status",
            "published_at",
            "updated_at",
            "pending_revision",
        }
    )
    changed["title_en"] = "Enterprise register (market entities)"
    edited = service.update_resource(
        db, admin, code="amr.enterprises", data=ResourceDescription.model_validate(changed)
    )
    assert (edited.revision, edited.pending_revision, edited.title_en) == (1, 2, "Enterprise registry")
    public_view = service.get_resource(db, Actor.anonymous(), code="amr.enterprises")
    assert public_view.title_en == "Enterprise registry", "the published revision stays visible during review"
    service.submit_resource(db, admin, code="amr.enterprises")
    with pytest.raises(Conflict, match="under review"):
        service.update_resource(db, admin, code="amr.enterprises", data=ResourceDescription.model_validate(changed))
    service.review_resource(db, who["manager"], code="amr.enterprises", decision=PUBLISH)
    after = service.get_resource(db, Actor.anonymous(), code="amr.enterprises")
    assert (after.revision, after.pending_revision, after.title_en) == (
        2,
        None,
        "Enterprise register (market entities)",
    )
    statuses = [(r.number, r.status) for r in service.list_revisions(db, admin, code="amr.enterprises")]
    assert statuses == [(2, RevisionStatus.PUBLISHED), (1, RevisionStatus.SUPERSEDED)]
    assert "amr.enterprises" in codes_found(db, Actor.anonymous(), "market entities")


def test_only_the_manager_reviews(db: Session, who: Actors) -> None:
    service.register_resource(db, who["psb-admin"], data=draft())
    service.submit_resource(db, who["psb-admin"], code="psb.vehicles")
    for name in ("psb-admin", "operator", "auditor", "civil-admin"):
        with pytest.raises(Forbidden, match="manager"):
            service.review_resource(db, who[name], code="psb.vehicles", decision=PUBLISH)


def test_another_department_cannot_edit_or_submit(db: Session, who: Actors) -> None:
    with pytest.raises(Forbidden, match="only a provider of 'amr'"):
        service.update_resource(db, who["civil-admin"], code="amr.enterprises", data=description_of({}))
    with pytest.raises(Forbidden):
        service.submit_resource(db, who["civil-admin"], code="amr.enterprises")


def test_a_provider_registers_only_under_its_own_code(db: Session, who: Actors) -> None:
    with pytest.raises(Forbidden, match=r"use psb\.<name>"):
        service.register_resource(db, who["psb-admin"], data=draft("civil.vehicles"))
    with pytest.raises(Forbidden, match="provider role"):
        service.register_resource(db, who["psb-analyst"], data=draft())


def test_a_duplicate_code_is_a_conflict(db: Session, who: Actors) -> None:
    with pytest.raises(Conflict, match=r"psb\.residents"):
        service.register_resource(db, who["psb-admin"], data=draft("psb.residents"))


def test_nothing_to_submit_is_a_conflict(db: Session, who: Actors) -> None:
    with pytest.raises(Conflict, match="nothing to submit"):
        service.submit_resource(db, who["psb-admin"], code="psb.residents")


def test_history_is_for_the_provider_the_manager_and_the_auditor(db: Session, who: Actors) -> None:
    for name in ("psb-admin", "psb-analyst", "manager", "auditor"):
        assert service.list_revisions(db, who[name], code="psb.residents")
    with pytest.raises(Forbidden):
        service.list_revisions(db, who["civil-analyst"], code="psb.residents")


def test_the_public_sees_open_resources_only(db: Session) -> None:
    found = service.search_resources(db, Actor.anonymous(), query=SearchQuery(limit=1000))
    assert found.count == len(found.items) > 0
    assert {r.open_type for r in found.items} <= {OpenType.OPEN, OpenType.CONDITIONAL}
    assert {"amr.enterprises", "transport.parking", "court.judgments"} <= {r.code for r in found.items}
