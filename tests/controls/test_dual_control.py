"""Critical actions need two people of different roles: deleting a version's data and rotating the signing
key (asked for by one, confirmed by a manager who is someone else), and publishing a resource as core data or
changing its grade (the provider's revision, another account's review). Nobody approves their own request."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from sluice.catalog import service as catalog
from sluice.catalog.models import Resource
from sluice.catalog.schemas import ResourceDescription, ReviewDecision
from sluice.clock import FixedClock
from sluice.controls import service
from sluice.controls.schemas import ActionKind, ActionPublic, ActionRequest, Decision
from sluice.errors import Conflict, Forbidden, Invalid
from sluice.gateway.querying import query
from sluice.gateway.receipts import verify
from sluice.gateway.schemas import QueryRequest
from sluice.lake.models import Version
from sluice.platform import Platform
from sluice.signing import load_signer, published_keys
from tests.conftest import SYSTEM
from tests.sharing.conftest import as_, second_manager


def ask(platform: Platform, username: str, kind: ActionKind, target: str) -> ActionPublic:
    with platform.transaction() as session:
        return service.ask_for_action(
            session, as_(platform, username), data=ActionRequest(kind=kind, target=target, reason="违规采集，依法删除")
        )


def confirm(platform: Platform, username: str, action_id: int) -> ActionPublic:
    with platform.transaction() as session:
        return service.confirm_action(session, as_(platform, username), action_id=action_id, decision=Decision())


def test_deleting_a_version_is_asked_by_its_provider_and_confirmed_by_a_manager(demo: Platform) -> None:
    asked = ask(demo, "psb-admin", ActionKind.VERSION_DELETE, "psb.residents@1")
    assert asked.status == "pending"
    with demo.reading() as session:
        path = session.scalars(
            select(Version.path)
            .join(Resource, Resource.id == Version.resource_id)
            .where(Resource.code == "psb.residents", Version.number == 1)
        ).one()
    with pytest.raises(Forbidden, match="never approve its own request"), demo.transaction() as session:
        service.confirm_action(session, as_(demo, "psb-admin"), action_id=asked.id, decision=Decision())
    with pytest.raises(Forbidden, match="confirmed by the manager"):
        confirm(demo, "operator", asked.id)
    done = confirm(demo, "manager", asked.id)
    assert done.status == "done"
    assert path is not None
    assert done.result == {"version": 1, "removed": path}
    assert not (demo.settings.lake_dir / path).exists()
    with demo.reading() as session:
        version = session.scalars(select(Version).where(Version.status == "deleted")).one()
    assert (version.number, version.path) == (1, None)
    with pytest.raises(Conflict, match="already decided"):
        confirm(demo, "manager", asked.id)


def test_who_may_ask_and_what_can_be_asked(demo: Platform) -> None:
    with pytest.raises(Forbidden, match="only a provider of psb"):
        ask(demo, "nra-admin", ActionKind.VERSION_DELETE, "psb.residents@1")
    with pytest.raises(Forbidden, match="asked for by the operator"):
        ask(demo, "psb-admin", ActionKind.KEY_ROTATE, "signing-key")
    with pytest.raises(Invalid, match="CODE@NUMBER"):
        ask(demo, "operator", ActionKind.VERSION_DELETE, "psb.residents")
    with pytest.raises(Forbidden, match="a person"), demo.transaction() as session:
        service.ask_for_action(
            session, SYSTEM, data=ActionRequest(kind=ActionKind.KEY_ROTATE, target="signing-key", reason="定期轮换")
        )


def test_requests_lapse_after_three_days(demo: Platform, clock: FixedClock) -> None:
    asked = ask(demo, "operator", ActionKind.KEY_ROTATE, "signing-key")
    clock.advance(timedelta(hours=73))
    with pytest.raises(Conflict, match="lapsed"):
        confirm(demo, "manager", asked.id)
    with demo.reading() as session:
        assert service.list_actions(session, as_(demo, "auditor"))[0].status == "expired"


def test_rotating_the_key_keeps_old_signatures_verifiable_and_every_process_follows(demo: Platform) -> None:
    actor = as_(demo, "civil-analyst")
    before = query(
        demo,
        actor,
        QueryRequest(sql="SELECT name FROM psb.residents LIMIT 1", purpose="marriage registration verification"),
    )
    other_process = load_signer(demo.settings.signing_key_path)  # another API process, opened before
    old_id = demo.signer.key_id
    asked = ask(demo, "operator", ActionKind.KEY_ROTATE, "signing-key")
    done = confirm(demo, "manager", asked.id)
    assert done.result is not None
    assert done.result["retired_key"] == old_id
    assert demo.signer.key_id == other_process.key_id == done.result["current_key"] != old_id
    after = query(
        demo,
        actor,
        QueryRequest(sql="SELECT name FROM psb.residents LIMIT 1", purpose="marriage registration verification"),
    )
    keys = {k.key_id: k for k in published_keys(demo.signer, demo.settings.keys_dir)}
    assert keys[old_id].retired_at is not None
    assert keys[after.receipt.key_id].retired_at is None
    assert verify(before.receipt, keys[before.receipt.key_id].public_key_pem)
    assert verify(after.receipt, keys[after.receipt.key_id].public_key_pem)
    assert not verify(before.receipt, keys[after.receipt.key_id].public_key_pem)


def test_two_confirmations_at_once_carry_the_action_out_once(demo: Platform) -> None:
    asked = ask(demo, "operator", ActionKind.KEY_ROTATE, "signing-key")
    second_manager(demo)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(username: str) -> None:
        start.wait()
        try:
            outcomes.append(confirm(demo, username, asked.id).status)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(name,)) for name in ("manager", "manager2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "done"]
    assert len(published_keys(demo.signer, demo.settings.keys_dir)) == 2


def _revise_grade(platform: Platform, code: str, grade: str) -> None:
    with platform.transaction() as session:
        current = catalog.get_resource(session, SYSTEM, code=code)
        description = ResourceDescription.model_validate(
            {**current.model_dump(include=set(ResourceDescription.model_fields)), "grade": grade}
        )
        provider = as_(platform, f"{code.split('.', maxsplit=1)[0]}-admin")
        catalog.update_resource(session, provider, code=code, data=description)
        catalog.submit_resource(session, provider, code=code)


def test_changing_a_grade_takes_the_providers_revision_and_another_accounts_review(demo: Platform) -> None:
    _revise_grade(demo, "nra.real_estate", "general")
    with demo.transaction() as session, pytest.raises(Forbidden, match="takes two people"):
        catalog.review_resource(session, SYSTEM, code="nra.real_estate", decision=ReviewDecision(decision="publish"))
    with demo.transaction() as session:
        published = catalog.review_resource(
            session, as_(demo, "manager"), code="nra.real_estate", decision=ReviewDecision(decision="publish")
        )
    assert published.grade.value == "general"


@pytest.mark.parametrize(("part", "value"), [("sharing_type", "unconditional"), ("open_type", "conditional")])
def test_opening_up_a_resource_takes_two_people_too(demo: Platform, part: str, value: str) -> None:
    code = "nra.real_estate"
    with demo.transaction() as session:
        current = catalog.get_resource(session, SYSTEM, code=code)
        changed = ResourceDescription.model_validate(
            {**current.model_dump(include=set(ResourceDescription.model_fields)), part: value, "licence": "CC-BY-4.0"}
        )
        provider = as_(demo, "nra-admin")
        catalog.update_resource(session, provider, code=code, data=changed)
        catalog.submit_resource(session, provider, code=code)
    with demo.transaction() as session, pytest.raises(Forbidden, match=f"{part} .* → {value}.*takes two people"):
        catalog.review_resource(session, SYSTEM, code=code, decision=ReviewDecision(decision="publish"))
    with demo.transaction() as session:
        published = catalog.review_resource(
            session, as_(demo, "manager"), code=code, decision=ReviewDecision(decision="publish")
        )
    assert published.model_dump(mode="json")[part] == value


def test_the_second_person_decides_with_their_own_credentials_not_at_the_shell(demo: Platform) -> None:
    from sluice.identity.authn import actor_for_user
    from sluice.identity.queries import find_user

    asked = ask(demo, "operator", ActionKind.KEY_ROTATE, "signing-key")
    with demo.transaction() as session:
        at_the_shell = actor_for_user(find_user(session, "manager"), via="cli")
        with pytest.raises(Forbidden, match="second person's decision"):
            service.confirm_action(session, at_the_shell, action_id=asked.id, decision=Decision())
