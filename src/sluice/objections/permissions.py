"""Permission checks of the objection use cases (who may take each step is in ``sharing.states``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role
from sluice.sharing.permissions import can_read, can_take_part

__all__ = ["can_object", "can_read", "can_report", "can_take_part"]


def can_object(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_user and actor.has(Role.CONSUMER):
        return
    raise Forbidden("objections are raised by a consumer account that uses the data", required_role=Role.CONSUMER.value)


def can_report(session: Session, actor: Actor, **_: Any) -> None:
    """Objection rates are the manager's and the auditor's (quality oversight); providers see their own."""
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER) or actor.has(Role.AUDITOR) or actor.has(Role.PROVIDER):
        return
    raise Forbidden("objection rates are for the manager, the auditor and providers")
