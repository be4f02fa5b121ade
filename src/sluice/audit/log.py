"""Appending to the audit log, inside the transaction of the change it records.

The event is written in the same transaction as the change, so either both are durable or neither is:
no change without its record, no record of a change that did not happen. It is queued there too; the
sequencer (``audit.sequencer``) gives it its index in the Merkle log moments later, in a batch.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

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
    event = AuditEvent(
        at=at,
        actor=actor.username,
        actor_org=actor.org_code,
        action=action,
        target=target,
        entry=canonical_json(entry),
    )
    session.add(event)
    session.flush()
    session.add(AuditQueue(event_id=event.id))
    return event
