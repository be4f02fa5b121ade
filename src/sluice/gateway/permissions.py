"""Permission checks of the gateway's use cases (what data a caller gets is decided inside, per grant)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role


def can_grant(session: Session, actor: Actor, **_: Any) -> None:
    """Until the sharing workflow (issue 6), grants are recorded by the manager or at the shell."""
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER):
        return
    raise Forbidden("grants are recorded by the manager (applications arrive with the sharing workflow)")


def can_list_grants(session: Session, actor: Actor) -> None:
    signed_in(session, actor)


def can_query(session: Session, actor: Actor, **_: Any) -> None:
    """Anyone may ask — the public for open data; each resource is then checked against the caller's grants."""
