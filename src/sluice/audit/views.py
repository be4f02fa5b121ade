"""The auditor's views over the log: flows by organisation, resource and purpose over a period; denied attempts;
unusual volumes. Read from the entries themselves (what was logged is what is reported)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.models import AuditEvent

MAX_EVENTS = 200_000  # one report reads at most this many events (narrow the period beyond)


class Flow(BaseModel):
    organisation: str | None
    resource: str
    purpose: str
    calls: int
    rows: int
    accounts: list[str]


class Denial(BaseModel):
    at: datetime
    actor: str
    organisation: str | None
    error: str
    message: str
    purpose: str


class Access(BaseModel):
    event: int
    at: datetime
    actor: str
    organisation: str | None
    resources: list[str]
    purpose: str
    rows: int
    fields: dict[str, list[str]]  # per resource


class DailyRows(BaseModel):
    day: str  # ISO date, UTC
    organisation: str | None
    calls: int
    rows: int


class Unusual(BaseModel):
    organisation: str | None
    resource: str
    day: str
    rows: int
    typical_rows: float


def _gateway_events(session: Session, action: str, start: datetime, end: datetime) -> list[AuditEvent]:
    """The newest ``MAX_EVENTS`` events of ``action`` in the period (a flood of old events cannot push the recent
    ones out of a report; ``capped`` says when the period held more)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.at >= start, AuditEvent.at < end)
            .order_by(AuditEvent.id.desc())
            .limit(MAX_EVENTS)
        )
    )


def capped(session: Session, start: datetime, end: datetime) -> bool:
    """Whether the period holds more gateway events of a kind than one report reads."""
    for action in ("gateway.query", "gateway.refuse"):
        more = session.scalar(
            select(AuditEvent.id)
            .where(AuditEvent.action == action, AuditEvent.at >= start, AuditEvent.at < end)
            .order_by(AuditEvent.id.desc())
            .offset(MAX_EVENTS)
            .limit(1)
        )
        if more is not None:
            return True
    return False


def flows(
    session: Session, start: datetime, end: datetime, resource: str | None, organisation: str | None
) -> list[Flow]:
    tally: dict[tuple[str | None, str, str], dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "rows": 0, "accounts": set()}
    )
    for event in _gateway_events(session, "gateway.query", start, end):
        entry = json.loads(event.entry)
        detail = entry["detail"]
        for code in (t.removeprefix("resource:") for t in entry["target"].split(",")):
            if (resource and code != resource) or (organisation and event.actor_org != organisation):
                continue
            row = tally[(event.actor_org, code, detail.get("purpose", ""))]
            row["calls"] += 1
            row["rows"] += int(detail.get("rows", 0))
            row["accounts"].add(event.actor)
    return [
        Flow(
            organisation=org,
            resource=code,
            purpose=purpose,
            calls=v["calls"],
            rows=v["rows"],
            accounts=sorted(v["accounts"]),
        )
        for (org, code, purpose), v in sorted(tally.items(), key=lambda item: (-item[1]["rows"], str(item[0])))
    ]


def denials(session: Session, start: datetime, end: datetime, *, limit: int = 200) -> list[Denial]:
    """The newest refusals in the period."""
    found = []
    for event in _gateway_events(session, "gateway.refuse", start, end)[:limit]:
        detail = json.loads(event.entry)["detail"]
        found.append(
            Denial(
                at=event.at,
                actor=event.actor,
                organisation=event.actor_org,
                error=detail.get("error", ""),
                message=detail.get("message", ""),
                purpose=detail.get("purpose", ""),
            )
        )
    return found


def unusual(session: Session, start: datetime, end: datetime, factor: float = 3.0) -> list[Unusual]:
    """Days on which an organisation took far more rows of a resource than it typically does (more than
    ``factor`` times its median day in the period, and at least 1 000 rows)."""
    days: dict[tuple[str | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in _gateway_events(session, "gateway.query", start, end):
        entry = json.loads(event.entry)
        for code in (t.removeprefix("resource:") for t in entry["target"].split(",")):
            days[(event.actor_org, code)][event.at.date().isoformat()] += int(entry["detail"].get("rows", 0))
    found = []
    for (org, code), per_day in days.items():
        typical = statistics.median(per_day.values())
        for day, rows in sorted(per_day.items()):
            if rows >= 1000 and rows > factor * typical:
                found.append(Unusual(organisation=org, resource=code, day=day, rows=rows, typical_rows=typical))
    return found


def daily(session: Session, start: datetime, end: datetime) -> list[DailyRows]:
    """Rows delivered per day and receiving organisation (for the auditor's chart of flows)."""
    tally: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for event in _gateway_events(session, "gateway.query", start, end):
        counts = tally[(event.at.date().isoformat(), event.actor_org)]
        counts[0] += 1
        counts[1] += int(json.loads(event.entry)["detail"].get("rows", 0))
    return [
        DailyRows(day=day, organisation=org, calls=calls, rows=rows)
        for (day, org), (calls, rows) in sorted(tally.items(), key=lambda item: (item[0][0], str(item[0][1])))
    ]


def accesses(
    session: Session,
    start: datetime,
    end: datetime,
    resource: str | None,
    organisation: str | None,
    *,
    limit: int = 200,
) -> list[Access]:
    """The newest deliveries in the period (who, what, when, why, how many rows), filtered like the flows."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.action == "gateway.query", AuditEvent.at >= start, AuditEvent.at < end)
        .order_by(AuditEvent.id.desc())
    )
    if organisation:
        query = query.where(AuditEvent.actor_org == organisation)
    if resource:
        query = query.where(AuditEvent.target.contains(f"resource:{resource}", autoescape=True))
    found = []
    for event in session.scalars(query.limit(limit)):
        entry = json.loads(event.entry)
        detail = entry["detail"]
        if resource and f"resource:{resource}" not in entry["target"].split(","):
            continue  # the LIKE above also matches longer codes that start alike
        found.append(
            Access(
                event=event.id,
                at=event.at,
                actor=event.actor,
                organisation=event.actor_org,
                resources=[t.removeprefix("resource:") for t in entry["target"].split(",")],
                purpose=detail.get("purpose", ""),
                rows=int(detail.get("rows", 0)),
                fields=dict(detail.get("fields", {})),
            )
        )
    return found
