"""Data objections: a consumer that received the data flags a record; the provider answers within five working
days — rejects with a reason, or accepts and links the new version that corrects it; overdue objections
escalate; rates per resource and organisation are reported."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.gateway.querying import query
from sluice.gateway.schemas import QueryRequest
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, Mode
from sluice.objections import service
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate, ObjectionPublic
from sluice.platform import Platform
from sluice.sharing import service as sharing
from tests.conftest import SYSTEM
from tests.lake.conftest import resident, write_csv
from tests.sharing.conftest import as_


def a_resident(platform: Platform) -> dict[str, str]:
    answer = query(
        platform,
        as_(platform, "psb-analyst"),
        QueryRequest(
            sql="SELECT id_number, name FROM psb.residents WHERE division_code = '110105' LIMIT 1", purpose="户籍"
        ),
    )
    id_number, name = answer.rows[0]
    return {"id_number": id_number, "name": name}


def raise_(platform: Platform, username: str = "civil-analyst", **changes: object) -> ObjectionPublic:
    person = a_resident(platform)
    body: dict[str, object] = {
        "resource": "psb.residents",
        "record": {"id_number": person["id_number"]},
        "field": "gender",
        "claimed_value": "2",
        "evidence": "婚姻登记时当事人出示的身份证性别为女（登记号 J110105-2026-0001）",
    }
    body.update(changes)
    with platform.transaction() as session:
        return service.raise_objection(session, as_(platform, username), data=ObjectionCreate.model_validate(body))


def decide(platform: Platform, use, username: str, objection_id: int, **answer: object) -> ObjectionPublic:  # type: ignore[no-untyped-def]
    with platform.transaction() as session:
        return use(  # type: ignore[no-any-return]
            session, as_(platform, username), objection_id=objection_id, answer=ObjectionAnswer.model_validate(answer)
        )


def test_an_objection_reaches_the_provider_with_a_five_working_day_deadline(demo: Platform) -> None:
    raised = raise_(demo)
    assert raised.status == "open"
    assert raised.provider_org == "psb"
    assert raised.deadline.day == date(2026, 12, 7)  # Monday 30 November + 5 working days
    assert raised.version_seen == 1
    with demo.reading() as session:
        queue = service.list_objections(session, as_(demo, "psb-admin"), box="to_me").items
        event = session.scalars(select(AuditEvent).where(AuditEvent.target == f"objection:{raised.id}")).one()
    assert [o.id for o in queue] == [raised.id]
    assert "J110105-2026-0001" not in event.entry  # the log keeps the claim's shape, not the personal data
    assert raised.record["id_number"] not in event.entry


@pytest.mark.parametrize(
    ("username", "changes", "error", "words"),
    [
        ("health-analyst", {}, Forbidden, "never been granted"),  # never received the data
        ("civil-analyst", {"record": {"name": "张三"}}, Invalid, "primary key: id_number"),
        ("civil-analyst", {"field": "salary"}, Invalid, "no field"),
        ("civil-analyst", {"field": "phone"}, Forbidden, "granted in clear"),  # not granted: no oracle on it
        ("civil-analyst", {"field": "id_number"}, Forbidden, "granted in clear"),  # granted, but masked
        ("psb-analyst", {}, Invalid, "your own organisation"),
        ("psb-admin", {}, Forbidden, "consumer"),
        ("civil-analyst", {"resource": "psb.nothing"}, NotFound, "psb.nothing"),
    ],
)
def test_objections_come_from_those_who_use_the_data_and_name_a_record(
    demo: Platform, username: str, changes: dict[str, object], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        raise_(demo, username, **changes)


def test_a_rejection_needs_a_reason(demo: Platform) -> None:
    raised = raise_(demo)
    with pytest.raises(Invalid, match="give the reason"):
        decide(demo, service.reject_objection, "psb-admin", raised.id)
    with pytest.raises(Forbidden, match="only the provider"):
        decide(demo, service.reject_objection, "civil-analyst", raised.id, reason="mine")
    rejected = decide(demo, service.reject_objection, "psb-admin", raised.id, reason="户籍档案核实无误")
    assert rejected.status == "rejected"
    assert rejected.reason == "户籍档案核实无误"


def test_an_accepted_objection_is_closed_by_the_version_that_corrects_it(demo: Platform, tmp_path: Path) -> None:
    raised = raise_(demo)
    accepted = decide(demo, service.accept_objection, "psb-admin", raised.id, reason="属实")
    assert accepted.status == "accepted"
    with pytest.raises(Invalid, match="not a published version"):
        decide(demo, service.correct_objection, "psb-admin", raised.id, version=9)
    with pytest.raises(Invalid, match="not newer than version 1"):
        decide(demo, service.correct_objection, "psb-admin", raised.id, version=1)
    fixed = write_csv(tmp_path / "fix.csv", [resident(raised.record["id_number"], gender="2")])
    version = ingest(
        demo, as_(demo, "psb-admin"), code="psb.residents", source=fixed, options=IngestOptions(mode=Mode.UPSERT)
    )
    corrected = decide(demo, service.correct_objection, "psb-admin", raised.id, version=version.number)
    assert corrected.status == "corrected"
    assert corrected.fixed_in_version == version.number
    with demo.reading() as session:
        history = service.get_objection(session, as_(demo, "civil-analyst"), objection_id=raised.id).history
    assert [e.action for e in history] == ["raise", "accept", "correct"]


def test_overdue_objections_escalate_and_rates_are_reported(demo: Platform, clock: FixedClock) -> None:
    first = raise_(demo)
    second = raise_(demo, field="birth_date", claimed_value="1990-02-03")
    decide(demo, service.reject_objection, "psb-admin", second.id, reason="核实无误")
    clock.advance(timedelta(days=8))
    with demo.transaction() as session:
        report = sharing.sweep_deadlines(session, SYSTEM)
    assert first.id in report.objections_escalated
    assert second.id not in report.objections_escalated
    with demo.reading() as session:
        assert service.get_objection(session, as_(demo, "civil-analyst"), objection_id=first.id).status == "escalated"
        rates = service.objection_rates(session, as_(demo, "manager"))
        by_org = service.objection_rates(session, as_(demo, "auditor"), by="organisation")
        own = service.objection_rates(session, as_(demo, "nra-admin"))
        with pytest.raises(Forbidden):
            service.objection_rates(session, as_(demo, "civil-analyst"))
    residents = next(r for r in rates if r.key == "psb.residents")
    assert (residents.objections, residents.open, residents.overdue, residents.rejected) == (2, 1, 1, 1)
    assert residents.deliveries >= 2  # the two look-ups above
    assert residents.per_thousand_deliveries == round(1000 * 2 / residents.deliveries, 3)
    assert next(r for r in by_org if r.key == "psb").objections == 2
    assert all(r.key.startswith("nra.") for r in own)
    # The provider can still answer after escalation; the objector may withdraw meanwhile.
    assert decide(demo, service.accept_objection, "psb-admin", first.id).status == "accepted"
    with pytest.raises(Conflict), demo.transaction() as session:
        service.withdraw_objection(session, as_(demo, "civil-analyst"), objection_id=first.id)
