"""Grants after they are issued: suspended, resumed and revoked by the provider or the manager and honoured by
the gateway at the very next call (a download being streamed included); standing grants on unconditional
resources; a department's own data; what each party sees."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.demo.grants import MARRIAGE_CHECK
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.gateway import querying
from sluice.gateway.models import Grant
from sluice.gateway.querying import export, query
from sluice.gateway.schemas import Delivery, GrantPublic, QueryRequest
from sluice.platform import Platform
from sluice.sharing import service
from sluice.sharing.contracts import contract_problems
from sluice.sharing.schemas import Answer
from tests.conftest import SYSTEM
from tests.sharing.conftest import as_, set_card

RESIDENTS = "SELECT name, division_code FROM psb.residents"


def demo_grant(platform: Platform) -> GrantPublic:
    with platform.reading() as session:
        return service.list_grants(session, as_(platform, "civil-analyst"))[0]


def change(platform: Platform, use, username: str, grant_id: int, reason: str = "") -> GrantPublic:  # type: ignore[no-untyped-def]
    with platform.transaction() as session:
        return use(session, as_(platform, username), grant_id=grant_id, answer=Answer(reason=reason))  # type: ignore[no-any-return]


def ask(platform: Platform, username: str, sql: str = RESIDENTS, purpose: str = MARRIAGE_CHECK) -> int:
    return query(platform, as_(platform, username), QueryRequest(sql=sql, purpose=purpose)).row_count


def test_suspend_resume_and_revoke_are_honoured_at_the_next_call(demo: Platform) -> None:
    grant = demo_grant(demo)
    assert ask(demo, "civil-analyst") > 0
    with pytest.raises(Invalid, match="give the reason"):
        change(demo, service.suspend_grant, "psb-admin", grant.id)
    assert change(demo, service.suspend_grant, "psb-admin", grant.id, "核查使用情况").status == "suspended"
    with pytest.raises(Forbidden, match="suspended"):
        ask(demo, "civil-analyst")
    assert change(demo, service.resume_grant, "psb-admin", grant.id).status == "active"
    assert ask(demo, "civil-analyst") > 0
    revoked = change(demo, service.revoke_grant, "manager", grant.id, "超范围使用")
    assert revoked.status == "revoked"
    assert revoked.status_reason == "超范围使用"
    with pytest.raises(Forbidden, match="revoked"):
        ask(demo, "civil-analyst")
    with pytest.raises(Conflict, match="revoked is final"):
        change(demo, service.resume_grant, "manager", grant.id)


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("psb-admin", True),  # the provider (assigner)
        ("manager", True),
        ("civil-analyst", False),  # the assignee cannot suspend its own grant
        ("civil-admin", False),
        ("nra-admin", False),  # another provider
        ("operator", False),
        ("auditor", False),
        ("psb-analyst", False),  # the provider's consumer account
    ],
)
def test_who_may_suspend_a_grant(demo: Platform, username: str, allowed: bool) -> None:
    grant = demo_grant(demo)
    if allowed:
        assert change(demo, service.suspend_grant, username, grant.id, "检查").status == "suspended"
    else:
        with pytest.raises((Forbidden, NotFound)):
            change(demo, service.suspend_grant, username, grant.id, "检查")


def test_a_suspension_by_the_manager_is_lifted_by_the_manager_only(demo: Platform) -> None:
    grant = demo_grant(demo)
    change(demo, service.suspend_grant, "manager", grant.id, "安全事件调查")
    with pytest.raises(Forbidden, match="only the manager can resume"):
        change(demo, service.resume_grant, "psb-admin", grant.id)
    assert change(demo, service.resume_grant, "manager", grant.id).status == "active"


def test_consumers_see_their_grants_and_quota_providers_the_ones_they_gave(demo: Platform) -> None:
    grant = demo_grant(demo)
    ask(demo, "civil-analyst")
    with demo.reading() as session:
        mine = service.list_grants(session, as_(demo, "civil-analyst"))
        given = service.list_grants(session, as_(demo, "psb-admin"), box="given")
        others = service.list_grants(session, as_(demo, "health-analyst"))
        with pytest.raises(NotFound):
            service.get_grant(session, as_(demo, "health-analyst"), grant_id=grant.id)
        with pytest.raises(Forbidden):
            service.list_grants(session, as_(demo, "civil-analyst"), box="all")
        everything = service.list_grants(session, as_(demo, "auditor"), box="all")
    assert [g.id for g in mine] == [grant.id]
    assert grant.id in [g.id for g in given]
    assert {g.assigner for g in given} == {"psb"}
    assert mine[0].calls_used == 1
    assert mine[0].calls_left == (mine[0].quota or 0) - 1
    assert grant.id not in [g.id for g in others]
    assert {g.id for g in everything} >= {g.id for g in given} | {g.id for g in others}


def test_a_recorded_grant_is_a_verifiable_contract_signed_by_the_platform(demo: Platform) -> None:
    grant = demo_grant(demo)
    with demo.reading() as session:
        contract = service.get_contract(session, as_(demo, "civil-analyst"), grant_id=grant.id)
    assert [s.party for s in contract.signatures] == ["platform"]
    assert contract.terms["row_filter"] == "division_code = '110105'"
    assert contract.terms_digest == grant.terms_digest
    assert contract_problems(contract, demo.signer.public_key_pem) == []
    forged = contract.model_copy(update={"terms_digest": "0" * 64})
    assert contract_problems(forged, demo.signer.public_key_pem) != []


def test_a_revoked_grant_stops_a_download_being_streamed(demo: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(querying, "CHUNK_BYTES", 256)
    monkeypatch.setattr(querying, "RECHECK_SECONDS", 0.0)
    actor = as_(demo, "civil-analyst")
    made = export(
        demo,
        actor,
        QueryRequest(sql="SELECT * FROM psb.residents", purpose=MARRIAGE_CHECK),
        fmt="csv",
        delivery=Delivery.DOWNLOAD,
    )
    assert made.size > 4 * 256
    chunks = made.chunks()
    received = [next(chunks), next(chunks)]
    change(demo, service.revoke_grant, "psb-admin", demo_grant(demo).id, "停止共享")
    with pytest.raises(Forbidden, match="revoked; the download was stopped"):
        received.extend(chunks)  # keeps what arrived before the stop
    sent = sum(len(chunk) for chunk in received)
    assert sent == 2 * 256
    with demo.reading() as session:
        stop = session.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.stop")).one()
    assert json.loads(stop.entry)["detail"]["bytes_sent"] == sent


# --- standing grants and own data ----------------------------------------------------------------------------


def test_an_unconditional_resource_gets_a_standing_grant_on_first_use_by_a_department(demo: Platform) -> None:
    set_card(demo, "transport.parking", open_type="not_open")  # shared unconditionally, not open to the public
    sql = "SELECT name, capacity FROM transport.parking"
    assert ask(demo, "health-analyst", sql, purpose="ambulance routing") > 0
    assert ask(demo, "health-analyst", sql, purpose="ambulance routing") > 0
    assert ask(demo, "health-analyst", sql, purpose="clinic planning") > 0
    with demo.reading() as session:
        standing = [g for g in service.list_grants(session, as_(demo, "health-analyst")) if g.standing]
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "grant.standing")).all()
        contract = service.get_contract(session, as_(demo, "health-analyst"), grant_id=standing[0].id)
    assert [(g.standing, g.purpose, g.assigner) for g in standing] == [
        (True, "ambulance routing", "transport"),
        (True, "clinic planning", "transport"),
    ]
    assert len(events) == 2
    assert [s.party for s in contract.signatures] == ["platform", "assignee"]
    assert contract_problems(contract, demo.signer.public_key_pem) == []
    with pytest.raises(Invalid, match="unknown table"):  # an enterprise does not see it at all
        ask(demo, "bank-analyst", sql, purpose="ambulance routing")


def test_a_revoked_standing_grant_is_not_issued_again(demo: Platform) -> None:
    set_card(demo, "transport.parking", open_type="not_open")
    sql = "SELECT name FROM transport.parking"
    ask(demo, "health-analyst", sql, purpose="ambulance routing")
    with demo.reading() as session:
        standing = next(g for g in service.list_grants(session, as_(demo, "health-analyst")) if g.standing)
    change(demo, service.revoke_grant, "transport-admin", standing.id, "用途不符")
    with pytest.raises(Forbidden, match="revoked"):
        ask(demo, "health-analyst", sql, purpose="ambulance routing")
    with demo.reading() as session:
        assert session.scalars(select(Grant).where(Grant.standing)).all()[0].status == "revoked"
        assert len(session.scalars(select(Grant).where(Grant.standing)).all()) == 1


def test_a_department_reads_its_own_data_whole_without_a_grant(demo: Platform) -> None:
    answer = query(
        demo,
        as_(demo, "psb-analyst"),
        QueryRequest(sql="SELECT id_number, phone FROM psb.residents", purpose="户籍管理"),
    )
    assert answer.row_count > 0
    assert answer.grants == []
    assert not any(row[0].endswith("*") for row in answer.rows)


def test_the_shell_records_grants_but_no_network_account_can(demo: Platform) -> None:
    from sluice.gateway.schemas import GrantCreate

    data = GrantCreate(
        resource="nra.real_estate",
        assignee="civil",
        fields=["location"],
        purpose="x-check",
        valid_from=demo.clock.now(),
        valid_until=demo.clock.now() + timedelta(days=1),
    )
    for username in ("manager", "nra-admin", "operator"):
        with demo.transaction() as session, pytest.raises(Forbidden, match="approved applications"):
            service.create_grant(session, as_(demo, username), data=data)
    with demo.transaction() as session, pytest.raises(Forbidden, match="core data"):
        service.create_grant(
            session,
            SYSTEM,
            data=data.model_copy(update={"resource": "psb.criminal_records", "fields": ["offence"]}),
        )


def test_a_stopped_standing_grant_blocks_every_purpose_and_important_data_needs_an_application(
    demo: Platform,
) -> None:
    set_card(demo, "transport.parking", open_type="not_open")
    sql = "SELECT name FROM transport.parking"
    ask(demo, "health-analyst", sql, purpose="ambulance routing")
    with demo.reading() as session:
        standing = next(g for g in service.list_grants(session, as_(demo, "health-analyst")) if g.standing)
    change(demo, service.suspend_grant, "transport-admin", standing.id, "核查")
    with pytest.raises(Forbidden, match="is suspended"):
        ask(demo, "health-analyst", sql, purpose="ambulance routing, again")  # another purpose: still stopped
    set_card(demo, "transport.parking", grade="important")
    with pytest.raises(Forbidden, match=r"apply for transport\.parking"):
        ask(demo, "civil-analyst", sql, purpose="parking study")


def test_a_grant_for_data_regraded_core_is_no_longer_honoured(demo: Platform) -> None:
    assert ask(demo, "civil-analyst") > 0
    set_card(demo, "psb.residents", grade="core")
    with pytest.raises(Forbidden, match="no longer honoured"):
        ask(demo, "civil-analyst")


def test_only_the_owning_organisations_consumers_read_its_data_whole(demo: Platform) -> None:
    with pytest.raises(Forbidden):
        query(demo, as_(demo, "psb-admin"), QueryRequest(sql="SELECT phone FROM psb.residents", purpose="户籍管理"))


def test_contracts_are_checked_by_what_was_signed_and_with_retired_keys(demo: Platform) -> None:
    from sluice.signing import published_keys, rotate_key_file

    grant = demo_grant(demo)
    with demo.reading() as session:
        contract = service.get_contract(session, as_(demo, "civil-analyst"), grant_id=grant.id)
    relabelled = contract.model_copy(
        update={"signatures": [s.model_copy(update={"party": "assignee"}) for s in contract.signatures]}
    )
    assert contract_problems(relabelled, demo.signer.public_key_pem) == []  # the label is not what is checked
    forged = contract.model_copy(
        update={
            "signatures": [
                s.model_copy(
                    update={"receipt": s.receipt.model_copy(update={"body": {**s.receipt.body, "party": "assignee"}})}
                )
                for s in contract.signatures
            ]
        }
    )
    assert any("does not verify" in p for p in contract_problems(forged, demo.signer.public_key_pem))
    rotate_key_file(demo.settings.signing_key_path)
    keys = {k.key_id: k.public_key_pem for k in published_keys(demo.signer, demo.settings.keys_dir)}
    assert contract_problems(contract, keys) == []
    assert any("does not verify" in p for p in contract_problems(contract, demo.signer.public_key_pem))


def test_lists_refuse_an_unknown_box_or_state_instead_of_answering_empty(demo: Platform) -> None:
    from sluice.objections import service as objections

    analyst = as_(demo, "civil-analyst")
    with demo.reading() as session:
        with pytest.raises(Invalid, match="unknown status actve"):
            service.list_grants(session, analyst, status=["actve"])
        with pytest.raises(Invalid, match="box is one of mine, given, all"):
            service.list_grants(session, analyst, box="theirs")
        with pytest.raises(Invalid, match="unknown status opne"):
            objections.list_objections(session, analyst, status=["opne"])
        with pytest.raises(Forbidden, match="manager's and the auditor's"):
            service.list_applications(session, analyst, box="escalated")
        assert [g.status for g in service.list_grants(session, analyst, status=["active"])] == ["active"]
