"""Permission checks of the feedback use cases: each takes exactly its use case's arguments."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role


def can_give(session: Session, actor: Actor, **_: Any) -> None:
    """Anyone, signed in or not, may give feedback on a dataset they can see (the use case checks that)."""


def can_read(session: Session, actor: Actor, **_: Any) -> None:
    """A department's accounts read the feedback on its data; the manager and the auditor read all of it."""
    signed_in(session, actor)
    if actor.is_system or actor.org_id is not None or actor.has(Role.MANAGER) or actor.has(Role.AUDITOR):
        return
    raise Forbidden("feedback is read by the department whose data it is about")


def can_answer(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.PROVIDER):
        return
    raise Forbidden("feedback is answered by a provider of the dataset's department", required_role="provider")
