"""Appending to the audit log, inside the transaction of the change it records.

The event is written in the same transaction as the change, so either both are durable or neither is:
no change without its record, no record of a change that did not happen. It is queued there too; the
sequencer (``audit.sequencer``) gives it its index in the Merkle log moments later, in a batch.
"""

from __future__ import annotations

import functools
import json
from typing import Any, cast

from sqlalchemy import Insert, Table, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from sluice.audit.models import AuditEvent, AuditQueue
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
    # Two plain inserts rather than the ORM's unit of work: every governed call appends here, and the unit of
    # work costs several times the inserts themselves. The event is returned as a detached record.
    append, enqueue = _inserts()
    connection = session.connection()  # the session's transaction, without the ORM's execution layers
    event_id = connection.execute(append, row).scalar_one()
    connection.execute(enqueue, {"event_id": event_id})
    return AuditEvent(id=event_id, **row)


@functools.cache
def _inserts() -> tuple[ReturningInsert[tuple[int]], Insert]:
    events = cast(Table, AuditEvent.__table__)
    return insert(events).returning(events.c.id), insert(cast(Table, AuditQueue.__table__))
