"""Plain statements on the driver (``sluice.db.plain``): what they store reads back through SQLAlchemy exactly as
SQLAlchemy's own statements would have stored it, on SQLite and PostgreSQL; parameters are translated to the
driver's style without touching casts or percent signs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

from sqlalchemy import Table, select

from sluice.audit.log import record
from sluice.audit.models import AuditEvent
from sluice.db import plain
from sluice.platform import Platform
from tests.conftest import SYSTEM


def test_an_event_appended_plainly_reads_back_as_it_was_written(platform: Platform) -> None:
    beijing = timezone(timedelta(hours=8))
    with platform.transaction() as session:
        event = record(session, SYSTEM, "test.plain", "target:x", note="百分之百 100% :not_a_parameter")
    with platform.reading() as session:
        stored = session.scalars(select(AuditEvent).where(AuditEvent.id == event.id)).one()
        assert stored.at == event.at
        assert stored.at.tzinfo is not None
        assert stored.entry == event.entry
        assert "100% :not_a_parameter" in stored.entry
        at = datetime(2026, 11, 29, 8, 0, tzinfo=beijing)
        column = cast(Table, AuditEvent.__table__).c.at
        assert plain.bind(session, column, at) in (
            "2026-11-29 00:00:00.000000",  # SQLite: SQLAlchemy's text form, in UTC
            at.astimezone(UTC),  # PostgreSQL: the aware value, in UTC
        )


def test_counted_rows_and_scalars_come_back(platform: Platform) -> None:
    with platform.transaction() as session:
        first = record(session, SYSTEM, "test.plain", "target:x")
        changed = plain.execute(session, "DELETE FROM audit_queue WHERE event_id = :event_id", {"event_id": first.id})
        assert changed == 1
        assert plain.scalar(session, "SELECT count(*) FROM audit_queue WHERE event_id = :e", {"e": first.id}) == 0
        assert plain.scalar(session, "SELECT action FROM audit_events WHERE id = :e", {"e": -1}) is None


def test_parameters_take_the_driver_s_style_and_leave_casts_and_percent_alone() -> None:
    statement = "SELECT CAST(:a AS TEXT), x::text, '50%' FROM t WHERE y = :b_2"
    assert plain._written(statement, "named") == statement
    assert (
        plain._written(statement, "pyformat") == "SELECT CAST(%(a)s AS TEXT), x::text, '50%%' FROM t WHERE y = %(b_2)s"
    )
