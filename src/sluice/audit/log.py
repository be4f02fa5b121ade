"""Appending to the audit log, inside the transaction of the change it records.

The event is written in the same transaction as the change, so either both are durable or neither is:
no change without its record, no record of a change that did not happen. It is queued there too; the
sequencer (``audit.sequencer``) gives it its index in the Merkle log moments later, in a batch.
"""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from sluice.audit.models import AuditEvent
from sluice.db import plain
from sluice.db.session import now
from sluice.identity.actor import Actor


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 kept as is: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record(session: Session, actor: Actor, action: str, target: str, **detail: Any) -> AuditEvent:
    """Append one event describing what ``actor`` did to ``target``."""
    at = now(session)
    entry = {
        "action": action,
        "actor": actor.username,
        "actor_kind": actor.kind.value,
        "actor_org": actor.org_code,
        "at": at.isoformat(),
        "detail": detail,
        "target": target,
        "via": actor.via,
    }
    row = {
        "at": at,
        "actor": actor.username,
        "actor_org": actor.org_code,
        "action": action,
        "target": target,
        "entry": canonical_json(entry),
    }
    # Two plain inserts on the driver rather than the ORM's unit of work: every governed call appends here, and
    # SQLAlchemy's layers cost several times the inserts themselves (``db.plain``). The event is returned as a
    # detached record.
    stored = {**row, "at": plain.bind(session, _AT, at)}
    event_id = int(plain.scalar(session, APPEND, stored))
    plain.execute(session, ENQUEUE, {"event_id": event_id})
    return AuditEvent(id=event_id, **row)


APPEND = (
    "INSERT INTO audit_events (at, actor, actor_org, action, target, entry) "
    "VALUES (:at, :actor, :actor_org, :action, :target, :entry) RETURNING id"
)
ENQUEUE = "INSERT INTO audit_queue (event_id) VALUES (:event_id)"
_AT = cast(Table, AuditEvent.__table__).c.at
