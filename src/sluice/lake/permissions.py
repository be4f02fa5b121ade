"""Permission checks of the lake's use cases: each takes exactly its use case's arguments."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role


def can_ingest(session: Session, actor: Actor, *, code: str, **_: Any) -> None:
    """Only a provider of the resource's own organisation loads its data (or the shell)."""
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.has(Role.PROVIDER) and code.split(".", 1)[0] == actor.org_code:
        return
    raise Forbidden(
        f"only a provider of {code.split('.', 1)[0]!r} may load data into {code}",
        resource=code,
        required_role="provider",
    )


def can_continue(session: Session, actor: Actor, *, ticket: Any, **_: Any) -> None:
    """Finishing an ingestion is for whoever started it (the ticket proves the start was allowed)."""
    can_ingest(session, actor, code=ticket.code)


def can_read_versions(session: Session, actor: Actor, *, code: str, **_: Any) -> None:
    """Anyone who may see the resource sees its published versions; the rest is filtered in the use case."""


def can_decide_pii(session: Session, actor: Actor, *, code: str, number: int, decisions: Any) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER):
        return
    if actor.has(Role.PROVIDER) and code.split(".", 1)[0] == actor.org_code:
        return
    raise Forbidden("flagged personal data is decided by the resource's provider or the manager", resource=code)


def can_see_held(session: Session, actor: Actor) -> None:
    signed_in(session, actor)


def can_maintain_lake(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR):
        return
    raise Forbidden("maintaining the lake is the operator's", required_role=Role.OPERATOR.value)


def can_see_ingestions(session: Session, actor: Actor, **_: Any) -> None:
    """The operator runs ingestion; the manager and the auditor oversee it. Nobody else sees other
    departments' jobs."""
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR) or actor.has(Role.MANAGER) or actor.has(Role.AUDITOR):
        return
    raise Forbidden("the list of ingestion jobs is the operator's", required_role=Role.OPERATOR.value)
