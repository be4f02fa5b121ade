"""Taking one step of a state machine: look it up for the caller's party, then move the row only if it is still
in the state it was read in (a conditional UPDATE), and write the step's history row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sluice.db.session import now
from sluice.errors import Conflict, Invalid
from sluice.identity.actor import Actor
from sluice.sharing.models import SharingEvent
from sluice.sharing.permissions import parties_of
from sluice.sharing.schemas import EventPublic
from sluice.sharing.states import TABLES, Party, Step, step

# When several parties may take a step, the history names the one closest to the data.
PARTY_ORDER = (Party.APPLICANT, Party.PROVIDER, Party.MANAGER, Party.PLATFORM)


@dataclass(frozen=True)
class Subject:
    """What a step needs to know of the thing it moves."""

    kind: str
    id: int
    status: str
    applicant_org_id: int
    provider_org_id: int
    model: Any  # the mapped class whose row moves


def take_step(session: Session, actor: Actor, subject: Subject, action: str, reason: str = "") -> tuple[Step, Party]:
    """Look the step up for the caller's party, then take it only if the row is still in the state it was read
    in (a conditional UPDATE): concurrent answers cannot both win."""
    held = parties_of(actor, applicant_org_id=subject.applicant_org_id, provider_org_id=subject.provider_org_id)
    found = step(TABLES[subject.kind], subject.kind, subject.status, action, held)
    if found.needs_reason and not reason.strip():
        raise Invalid(
            f"give the reason to {action.replace('_', ' ')} the {subject.kind}", field="reason", rule="reason_required"
        )
    moved = session.execute(
        update(subject.model)
        .where(subject.model.id == subject.id, subject.model.status == subject.status)
        .values(status=found.to)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"the {subject.kind} was changed by someone else just now; reload it and look again",
            **{subject.kind: subject.id},
        )
    party = next(p for p in PARTY_ORDER if p in held and p in found.parties)
    add_history(
        session,
        actor,
        subject=subject.kind,
        subject_id=subject.id,
        party=party,
        action=action,
        from_status=subject.status,
        to_status=found.to,
        reason=reason or None,
    )
    return found, party


def add_history(
    session: Session,
    actor: Actor,
    *,
    subject: str,
    subject_id: int,
    party: Party,
    action: str,
    from_status: str | None,
    to_status: str,
    reason: str | None = None,
) -> None:
    session.add(
        SharingEvent(
            subject=subject,
            subject_id=subject_id,
            at=now(session),
            actor=actor.username,
            party=party.value,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
    )


def history_of(session: Session, *subjects: tuple[str, int | None]) -> list[EventPublic]:
    """The steps of the given (kind, id) subjects, oldest first."""
    wanted = [(kind, ident) for kind, ident in subjects if ident is not None]
    if not wanted:
        return []
    rows = session.scalars(
        select(SharingEvent)
        .where(or_(*[(SharingEvent.subject == kind) & (SharingEvent.subject_id == ident) for kind, ident in wanted]))
        .order_by(SharingEvent.id)
    ).all()
    return [
        EventPublic(
            at=e.at,
            actor=e.actor,
            party=e.party,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            reason=e.reason,
        )
        for e in rows
    ]
