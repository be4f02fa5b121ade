"""Permission checks of the linked-source use cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role
from sluice.lake.permissions import can_ingest


def can_link(session: Session, actor: Actor, *, code: str, **_: Any) -> None:
    """Linking a source is loading data by other means: the resource's provider (or the shell)."""
    can_ingest(session, actor, code=code)


def can_link_existing(session: Session, actor: Actor, *, code: str) -> None:
    can_ingest(session, actor, code=code)


def can_see_source(session: Session, actor: Actor, *, code: str) -> None:
    """Where the data lives (never the password): its provider, and the platform's manager, operator, auditor."""
    signed_in(session, actor)
    if actor.is_system or any(actor.has(r) for r in (Role.MANAGER, Role.OPERATOR, Role.AUDITOR)):
        return
    if code.split(".", 1)[0] == actor.org_code:
        return
    raise Forbidden(f"the source of {code} is seen by its provider and the platform's staff", resource=code)
