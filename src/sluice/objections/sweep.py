"""Escalating objections past their deadline (called by the sharing deadline sweep)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.db.session import now
from sluice.errors import Conflict
from sluice.identity.actor import Actor
from sluice.identity.roles import Role
from sluice.inbox.post import notify
from sluice.objections.models import Objection
from sluice.sharing.states import ObjectionAction, ObjectionState
from sluice.sharing.steps import Subject, take_step


def escalate_overdue_objections(session: Session, actor: Actor) -> list[int]:
    at = now(session)
    overdue = session.scalars(
        select(Objection).where(Objection.status == ObjectionState.OPEN.value, Objection.deadline_at <= at)
    ).all()
    escalated = []
    for objection in overdue:
        subject = Subject(
            "objection", objection.id, objection.status, objection.objector_org_id, objection.provider_org_id, Objection
        )
        try:
            found, _ = take_step(session, actor, subject, ObjectionAction.ESCALATE.value)
        except Conflict:
            continue  # answered meanwhile
        set_committed_value(objection, "status", found.to)
        objection.escalated_at = at
        code = session.get_one(Resource, objection.resource_id).code
        record(session, actor, "objection.escalate", f"objection:{objection.id}", resource=code)
        message = f"objection {objection.id} about {code} was not answered by its deadline"
        notify(
            session,
            kind="objection.escalated",
            target=f"objection:{objection.id}",
            message=message,
            role=Role.MANAGER,
            detail={"objection": objection.id},
        )
        notify(
            session,
            kind="objection.escalated",
            target=f"objection:{objection.id}",
            message=message,
            org_id=objection.provider_org_id,
            detail={"objection": objection.id},
        )
        escalated.append(objection.id)
    return escalated
