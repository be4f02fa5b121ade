"""Permission checks of dual control: a person asks, another person of another role decides (never the shell:
each side is an accountable account)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import PLATFORM_ROLES, Role


def can_ask(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if not actor.is_user:
        raise Forbidden(
            "critical actions are asked for by a person (`sluice --as NAME controls ask …`) and confirmed by another"
        )


def can_decide(session: Session, actor: Actor, **_: Any) -> None:
    can_ask(session, actor)


def can_read(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.roles & (PLATFORM_ROLES | {Role.PROVIDER}):
        return
    raise Forbidden("critical actions are seen by the platform's roles and providers")
