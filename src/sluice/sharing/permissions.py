"""Permission checks of the sharing use cases, and the parties an account is to an application or a grant.

Who may take each *step* is in ``states`` (a party per transition); these checks only keep out those who can
never take part (the public, the operator and the auditor change nothing here).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import OrgKind, Role
from sluice.sharing.states import Party

READERS = frozenset({Role.MANAGER, Role.AUDITOR})


def parties_of(actor: Actor, *, applicant_org_id: int, provider_org_id: int) -> frozenset[Party]:
    """What ``actor`` is to one application, grant or objection."""
    if actor.is_system:
        return frozenset({Party.PLATFORM})
    held: set[Party] = set()
    if actor.org_id == applicant_org_id and actor.has(Role.CONSUMER):
        held.add(Party.APPLICANT)
    if actor.org_id == provider_org_id and actor.has(Role.PROVIDER):
        held.add(Party.PROVIDER)
    if actor.has(Role.MANAGER):
        held.add(Party.MANAGER)
    return frozenset(held)


def oversees(actor: Actor) -> bool:
    """The manager and the auditor (and the shell) see every organisation's applications, grants, objections."""
    return actor.is_system or bool(actor.roles & READERS)


def may_read(actor: Actor, *, applicant_org_id: int, provider_org_id: int) -> bool:
    """Both organisations, the manager and the auditor (and the shell) see an application, grant or objection."""
    return oversees(actor) or (actor.org_id is not None and actor.org_id in (applicant_org_id, provider_org_id))


def can_apply(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_user and actor.has(Role.CONSUMER) and actor.org_kind in (OrgKind.DEPARTMENT, OrgKind.ENTERPRISE):
        return
    raise Forbidden(
        "applications are filed by a consumer account of a department or an enterprise "
        "(the shell and platform accounts cannot apply: an application is signed by the person who files it)",
        required_role=Role.CONSUMER.value,
    )


def can_take_part(session: Session, actor: Actor, **_: Any) -> None:
    """Answering, countersigning, resubmitting, accepting, suspending…: a person, never the shell — each step
    is signed by the account that takes it (the transition table then says which party may)."""
    signed_in(session, actor)
    if not actor.is_user:
        raise Forbidden(
            "workflow steps are taken by a person's account: run the command with `sluice --as USERNAME …` "
            "or call the API with that person's token"
        )


def can_read(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)


def can_sweep(session: Session, actor: Actor, **_: Any) -> None:
    """The deadline sweep runs as the platform (the server's own timer, or the operator's shell)."""
    signed_in(session, actor)
    if actor.is_system:
        return
    raise Forbidden("deadlines are swept by the platform itself (`sluice sharing sweep` on its host)")


def can_change_calendar(session: Session, actor: Actor, **_: Any) -> None:
    """The working-day calendar is the operator's file on the platform's host (`sluice holidays load`)."""
    signed_in(session, actor)
    if not actor.is_system:
        raise Forbidden("holiday calendars are loaded at the platform's shell (`sluice holidays load`)")


def can_record_grant(session: Session, actor: Actor, **_: Any) -> None:
    """Grants agreed outside the platform (paper contracts being migrated) are recorded at the shell only;
    every other grant comes from an approved application."""
    signed_in(session, actor)
    if not actor.is_system:
        raise Forbidden(
            "grants come from approved applications: file one with POST /api/v1/applications "
            "(recording a grant directly is for the platform's shell)"
        )
