"""An application's life on the demo government: filing and the catalog's sharing rules, deadlines in working
days and escalation, approval (narrowed or not), the manager's countersignature and the two-person rule,
requests for changes, refusals, and the grant the gateway then enforces."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.errors import Conflict, Forbidden, Invalid, SluiceError
from sluice.gateway.models import Grant
from sluice.gateway.querying import query
from sluice.gateway.schemas import QueryRequest
from sluice.inbox.models import Notice
from sluice.platform import Platform
from sluice.sharing import service
from sluice.sharing.contracts import contract_problems
from sluice.sharing.models import Application
from sluice.sharing.schemas import Answer, Approval, Resubmission
from tests.conftest import START, SYSTEM
from tests.sharing.conftest import PURPOSE, apply, as_, second_manager, set_card


def approve(platform: Platform, username: str, application_id: int, **approval: object):  # type: ignore[no-untyped-def]
    with platform.transaction() as session:
        return service.approve_application(
            session, as_(platform, username), application_id=application_id, approval=Approval.model_validate(approval)
        )


def countersign(platform: Platform, username: str, application_id: int):  # type: ignore[no-untyped-def]
    with platform.transaction() as session:
        return service.countersign_application(
            session, as_(platform, username), application_id=application_id, answer=Answer(reason="agreed")
        )


def answer(platform: Platform, use, username: str, application_id: int, reason: str = ""):  # type: ignore[no-untyped-def]
    with platform.transaction() as session:
        return use(session, as_(platform, username), application_id=application_id, answer=Answer(reason=reason))


def notices(platform: Platform, kind: str, application_id: int) -> list[Notice]:
    with platform.reading() as session:
        return list(
            session.scalars(select(Notice).where(Notice.kind == kind, Notice.target == f"application:{application_id}"))
        )


# --- filing --------------------------------------------------------------------------------------------------


def test_an_application_waits_in_the_providers_queue_with_a_deadline_of_ten_working_days(demo: Platform) -> None:
    filed = apply(demo)
    assert filed.status == "pending"
    assert filed.provider_org == "nra"
    assert filed.applicant_org == "civil"
    # Filed Monday 30 November 2026: ten working days later is Monday 14 December, ending at midnight in Beijing.
    assert filed.deadline.day == date(2026, 12, 14)
    assert filed.deadline.at == datetime(2026, 12, 14, 16, 0, tzinfo=UTC)
    assert filed.deadline.exact
    assert filed.deadline.working_days_left == 10
    assert not filed.deadline.overdue
    with demo.reading() as session:
        queue = service.list_applications(session, as_(demo, "nra-admin"), box="to_me").items
        mine = service.list_applications(session, as_(demo, "civil-analyst"), status=["pending"]).items
        theirs = service.list_applications(session, as_(demo, "health-analyst")).items
    assert [a.id for a in queue] == [a.id for a in mine] == [filed.id]  # nra had nothing to answer before
    assert filed.id not in [a.id for a in theirs]
    assert [n.org_id is not None for n in notices(demo, "application.filed", filed.id)] == [True]


def test_several_resources_are_filed_together_as_one_application_each(demo: Platform) -> None:
    with demo.transaction() as session:
        from sluice.sharing.schemas import ApplicationCreate

        filed = service.file_application(
            session,
            as_(demo, "civil-analyst"),
            data=ApplicationCreate.model_validate(
                {
                    "items": [
                        {"resource": "nra.real_estate", "fields": ["certificate_no", "location"]},
                        {"resource": "psb.residents", "fields": ["id_number", "name"], "unmasked": ["id_number"]},
                    ],
                    "purpose": PURPOSE,
                    "legal_basis": "《不动产登记暂行条例》",
                    "valid_until": START + timedelta(days=30),
                }
            ),
        )
    assert [a.resource for a in filed] == ["nra.real_estate", "psb.residents"]
    assert len({a.batch for a in filed}) == 1
    assert [a.provider_org for a in filed] == ["nra", "psb"]


@pytest.mark.parametrize(
    ("username", "items", "error", "words"),
    [
        ("psb-analyst", [{"resource": "psb.residents", "fields": ["name"]}], Invalid, "your own organisation"),
        ("civil-analyst", [{"resource": "psb.criminal_records", "fields": ["offence"]}], Forbidden, "core data"),
        ("civil-analyst", [{"resource": "amr.enterprises", "fields": ["name"]}], Invalid, "unconditionally"),
        ("bank-analyst", [{"resource": "amr.enterprises", "fields": ["name"]}], Invalid, "open data"),
        ("bank-analyst", [{"resource": "psb.residents", "fields": ["name"]}], SluiceError, "psb.residents"),
        ("civil-analyst", [{"resource": "nra.real_estate", "fields": ["price"]}], Invalid, "no field"),
        (
            "civil-analyst",
            [{"resource": "nra.real_estate", "fields": ["location"], "row_filter": "1; DROP TABLE x"}],
            Invalid,
            "row filter",
        ),
        (
            "civil-analyst",
            [{"resource": "nra.real_estate", "fields": ["location"], "unmasked": ["location"]}],
            Invalid,
            "need not",
        ),
        ("civil-analyst", [{"resource": "nra.nothing", "fields": ["x"]}], SluiceError, "nra.nothing"),
    ],
)
def test_the_catalogs_sharing_rules_refuse_what_cannot_be_applied_for(
    demo: Platform, username: str, items: list[dict[str, object]], error: type[SluiceError], words: str
) -> None:
    with demo.reading() as session:
        before = session.scalar(select(func.count()).select_from(Application))
    with pytest.raises(error, match=words):
        apply(demo, username, items=items)
    with demo.reading() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == before  # nothing filed


def test_a_resource_that_is_not_shared_is_refused_citing_its_legal_basis(demo: Platform) -> None:
    set_card(demo, "psb.criminal_records", grade="important")  # no longer core: the sharing type decides
    with pytest.raises(Forbidden, match="刑事诉讼法") as refused:
        apply(demo, items=[{"resource": "psb.criminal_records", "fields": ["offence"]}])
    assert "不予共享" in refused.value.message


def test_the_period_must_be_sane_and_one_open_application_per_purpose(demo: Platform) -> None:
    with pytest.raises(Invalid, match="already ended"):
        apply(demo, valid_from=START - timedelta(days=10), valid_until=START - timedelta(days=1))
    with pytest.raises(Invalid, match="at most 1095 days"):
        apply(demo, valid_until=START + timedelta(days=2000))
    first = apply(demo)
    with pytest.raises(Conflict, match=f"application {first.id}"):
        apply(demo)


# --- answers -------------------------------------------------------------------------------------------------


def test_important_data_needs_the_providers_approval_and_the_managers_countersignature(demo: Platform) -> None:
    filed = apply(demo)
    endorsed = approve(demo, "nra-admin", filed.id)
    assert endorsed.status == "awaiting_countersign"
    assert endorsed.grant is None
    assert [n.role for n in notices(demo, "application.countersign", filed.id)] == ["manager"]
    done = countersign(demo, "manager", filed.id)
    assert done.status == "approved"
    assert done.grant is not None
    assert not done.narrowed
    with demo.reading() as session:
        grant = service.get_grant(session, as_(demo, "civil-analyst"), grant_id=done.grant)
        contract = service.get_contract(session, as_(demo, "civil-analyst"), grant_id=done.grant)
    assert grant.status == "active"
    assert grant.assigner == "nra"
    assert grant.assignee == "civil"
    assert grant.masks["owner_id"].kind.value == "ID_REGION_BIRTH_YEAR"  # sensitive: masked by default
    assert grant.calls_left == 1000
    assert [(s.party, s.account) for s in contract.signatures] == [
        ("assigner", "nra-admin"),
        ("countersigner", "manager"),
        ("assignee", "civil-analyst"),
    ]
    assert contract_problems(contract, demo.signer.public_key_pem) == []
    tampered = contract.model_copy(update={"terms": {**contract.terms, "fields": ["owner_id"]}})
    assert any("digest" in p for p in contract_problems(tampered, demo.signer.public_key_pem))
    # The gateway now answers under it, masked, and counts the call.
    actor = as_(demo, "civil-analyst")
    answer_ = query(demo, actor, QueryRequest(sql="SELECT owner_id, location FROM nra.real_estate", purpose=PURPOSE))
    assert answer_.row_count > 0
    assert all(row[0].endswith("********") for row in answer_.rows)
    with demo.reading() as session:
        assert service.get_grant(session, actor, grant_id=done.grant).calls_left == 999


def test_the_countersignature_is_a_second_person(demo: Platform) -> None:
    filed = apply(demo)
    demo.clock.advance(timedelta(days=30))  # type: ignore[attr-defined]
    with demo.transaction() as session:
        assert filed.id in service.sweep_deadlines(session, SYSTEM).applications_escalated
    endorsed = approve(demo, "manager", filed.id)  # the manager answers in the provider's place
    assert endorsed.status == "awaiting_countersign"
    assert endorsed.answered_by == "manager"
    with pytest.raises(Forbidden, match="never approve its own request"):
        countersign(demo, "manager", filed.id)
    second_manager(demo)
    assert countersign(demo, "manager2", filed.id).status == "approved"


def test_a_narrowed_approval_is_offered_and_used_only_once_the_applicant_accepts(demo: Platform) -> None:
    set_card(demo, "nra.real_estate", grade="general")  # no countersignature needed
    filed = apply(demo)
    done = approve(demo, "nra-admin", filed.id, fields=["certificate_no", "location"], quota=10, comment="no IDs")
    assert done.status == "approved"
    assert done.narrowed
    assert done.terms is not None
    assert done.terms.fields == ["certificate_no", "location"]
    assert done.terms.quota == 10
    actor = as_(demo, "civil-analyst")
    with pytest.raises(Forbidden, match="offered"):
        query(demo, actor, QueryRequest(sql="SELECT location FROM nra.real_estate", purpose=PURPOSE))
    with demo.transaction() as session:
        accepted = service.accept_grant(session, actor, grant_id=done.grant or 0)
    assert accepted.status == "active"
    assert query(demo, actor, QueryRequest(sql="SELECT location FROM nra.real_estate", purpose=PURPOSE)).row_count > 0
    with pytest.raises(Forbidden, match="owner_id"):
        query(demo, actor, QueryRequest(sql="SELECT owner_id FROM nra.real_estate", purpose=PURPOSE))
    with demo.reading() as session:
        contract = service.get_contract(session, actor, grant_id=done.grant or 0)
    assert [s.party for s in contract.signatures] == ["assigner", "assignee"]
    assert contract_problems(contract, demo.signer.public_key_pem) == []


def test_an_approval_can_only_narrow(demo: Platform) -> None:
    filed = apply(demo)
    with pytest.raises(Invalid, match="not asked for"):
        approve(demo, "nra-admin", filed.id, fields=["certificate_no", "area_sqm"])
    with pytest.raises(Invalid, match="quota"):
        approve(demo, "nra-admin", filed.id, quota=5000)
    with pytest.raises(Invalid, match="delivery"):
        approve(demo, "nra-admin", filed.id, delivery=["download"])


def test_a_refusal_without_a_reason_is_refused(demo: Platform) -> None:
    filed = apply(demo)
    with pytest.raises(Invalid, match="give the reason"):
        answer(demo, service.refuse_application, "nra-admin", filed.id, reason="   ")
    refused = answer(demo, service.refuse_application, "nra-admin", filed.id, reason="超出法定职责范围")
    assert refused.status == "refused"
    assert refused.reason == "超出法定职责范围"
    assert notices(demo, "application.refuse", filed.id)[0].message.endswith("超出法定职责范围")
    with pytest.raises(Conflict, match="refused"):
        approve(demo, "nra-admin", filed.id)


def test_changes_requested_then_resubmitted_restart_the_deadline(demo: Platform, clock: FixedClock) -> None:
    filed = apply(demo)
    answer(demo, service.request_changes, "nra-admin", filed.id, reason="缩小到朝阳区")
    clock.advance(timedelta(days=7))
    with demo.transaction() as session, pytest.raises(Invalid, match="need not be asked for in clear"):
        service.resubmit_application(
            session,
            as_(demo, "civil-analyst"),
            application_id=filed.id,
            changes=Resubmission(unmasked=["location"]),
        )
    with demo.transaction() as session:
        again = service.resubmit_application(
            session,
            as_(demo, "civil-analyst"),
            application_id=filed.id,
            changes=Resubmission(row_filter="division_code = '110105'", comment="done"),
        )
    assert again.status == "pending"
    assert again.round == 2
    assert again.deadline.day > filed.deadline.day
    assert again.deadline.working_days_left == 10
    with demo.reading() as session:
        history = service.get_application(session, as_(demo, "nra-admin"), application_id=filed.id).history
    assert [(e.action, e.party) for e in history] == [
        ("file", "applicant"),
        ("request_changes", "provider"),
        ("resubmit", "applicant"),
    ]


def test_overdue_applications_escalate_to_the_manager_who_may_then_answer(demo: Platform, clock: FixedClock) -> None:
    filed = apply(demo)
    with pytest.raises(Forbidden, match="only the provider"):
        answer(demo, service.refuse_application, "manager", filed.id, reason="not yet escalated")
    clock.advance(timedelta(days=13))  # Sunday 13 December: the deadline is the end of Monday the 14th
    with demo.transaction() as session:
        assert filed.id not in service.sweep_deadlines(session, SYSTEM).applications_escalated
    clock.advance(timedelta(days=1, hours=8))
    with demo.reading() as session:
        shown = service.get_application(session, as_(demo, "civil-analyst"), application_id=filed.id)
    assert shown.deadline.overdue
    assert shown.deadline.working_days_left == 0
    with demo.transaction() as session:
        assert filed.id in service.sweep_deadlines(session, SYSTEM).applications_escalated
        assert service.sweep_deadlines(session, SYSTEM).applications_escalated == []  # once
    assert {n.role or "org" for n in notices(demo, "application.escalated", filed.id)} == {"manager", "org"}
    refused = answer(demo, service.refuse_application, "manager", filed.id, reason="依据不足")
    assert refused.status == "refused"
    assert refused.answered_by == "manager"
    with demo.reading() as session:
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"application:{filed.id}")).all()
    assert events == ["application.file", "application.escalate", "application.refuse"]


def test_the_deadline_sweep_is_the_platforms(demo: Platform) -> None:
    with demo.transaction() as session, pytest.raises(Forbidden):
        service.sweep_deadlines(session, as_(demo, "operator"))


def test_concurrent_approvals_of_one_application_make_exactly_one_grant(demo: Platform) -> None:
    set_card(demo, "nra.real_estate", grade="general")
    filed = apply(demo)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def approve_once() -> None:
        start.wait()
        try:
            approve(demo, "nra-admin", filed.id)
            outcomes.append("approved")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc.message}")

    threads = [threading.Thread(target=approve_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "approved"
    assert sorted(outcomes)[1].startswith("conflict")
    with demo.reading() as session:
        assert session.scalar(select(func.count()).select_from(Grant).where(Grant.application_id == filed.id)) == 1


def test_the_audit_log_records_every_step_without_the_data(demo: Platform) -> None:
    set_card(demo, "nra.real_estate", grade="general")
    filed = apply(demo)
    done = approve(demo, "nra-admin", filed.id)
    with demo.reading() as session:
        entries = [
            json.loads(e.entry)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.target == f"grant:{done.grant}").order_by(AuditEvent.id)
            )
        ]
    assert [e["action"] for e in entries] == ["grant.issue"]
    assert entries[-1]["detail"]["application"] == filed.id
    assert entries[-1]["target"] == f"grant:{done.grant}"
    assert len(entries[-1]["detail"]["terms_digest"]) == 64


def test_a_resource_regraded_core_or_made_not_shared_after_filing_is_not_granted(demo: Platform) -> None:
    filed = apply(demo)
    set_card(demo, "nra.real_estate", grade="core")
    with pytest.raises(Forbidden, match="core data"):
        approve(demo, "nra-admin", filed.id)
    set_card(demo, "nra.real_estate", grade="important", sharing_type="not_shared")
    with pytest.raises(Forbidden, match="not shared"):
        approve(demo, "nra-admin", filed.id)


def test_an_approval_cannot_unmask_what_was_not_asked_for_in_clear_and_new_obligations_need_acceptance(
    demo: Platform,
) -> None:
    set_card(demo, "nra.real_estate", grade="general")
    filed = apply(demo)
    with pytest.raises(Invalid, match="owner_id are sensitive"):
        approve(demo, "nra-admin", filed.id, masks={})
    with pytest.raises(Invalid, match="owner_id are sensitive"):
        approve(demo, "nra-admin", filed.id, masks={"owner_id": {"kind": "MASK_NONE"}})
    with pytest.raises(ValueError, match="no_onward_sharing"):
        approve(demo, "nra-admin", filed.id, obligations={"no_onward_sharing": False})
    done = approve(demo, "nra-admin", filed.id, obligations={"delete_after_days": 30})
    assert done.narrowed  # an obligation the applicant did not see: it must accept it
    with demo.reading() as session:
        assert service.get_grant(session, as_(demo, "civil-analyst"), grant_id=done.grant or 0).status == "offered"


def test_the_countersignature_is_not_taken_at_the_shell_in_someone_elses_name(demo: Platform) -> None:
    from sluice.identity.authn import actor_for_user
    from sluice.identity.queries import find_user

    filed = apply(demo)
    approve(demo, "nra-admin", filed.id)
    with demo.transaction() as session:
        at_the_shell = actor_for_user(find_user(session, "manager"), via="cli")
        with pytest.raises(Forbidden, match="second person's decision"):
            service.countersign_application(session, at_the_shell, application_id=filed.id, answer=Answer())


def test_dates_must_say_their_time_zone_and_contracts_hold_across_zones(demo: Platform) -> None:
    with pytest.raises(ValueError, match="timezone"):
        apply(demo, valid_until=datetime(2027, 1, 1))  # naive: which midnight?
    set_card(demo, "nra.real_estate", grade="general")
    filed = apply(demo)
    beijing = timezone(timedelta(hours=8))
    done = approve(demo, "nra-admin", filed.id, valid_until=datetime(2027, 3, 1, 8, 0, tzinfo=beijing))
    with demo.transaction() as session:  # a shorter period: the applicant accepts it
        service.accept_grant(session, as_(demo, "civil-analyst"), grant_id=done.grant or 0)
    with demo.reading() as session:
        contract = service.get_contract(session, as_(demo, "civil-analyst"), grant_id=done.grant or 0)
    assert contract.terms["valid_until"] == "2027-03-01T00:00:00+00:00"
    assert contract_problems(contract, demo.signer.public_key_pem) == []
