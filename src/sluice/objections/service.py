"""Use cases of data objections (数据异议 / 校核纠错): a consumer flags a record it believes wrong; the provider
answers within a deadline in working days — accepts it (and links the version that corrects it) or rejects it
with a reason. Objections past their deadline escalate to the manager; rates per resource and organisation are
reported for the quality work."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import serving_description, visible_to
from sluice.catalog.vocab import OpenType
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.gateway.models import Grant
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation
from sluice.inbox.post import notify
from sluice.lake.models import Version
from sluice.lake.queries import serving_version
from sluice.objections import permissions as can
from sluice.objections.models import Objection
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate, ObjectionPublic, ObjectionRate
from sluice.pagination import Page, check_limit, decode_cursor, encode_cursor
from sluice.sharing.boxes import box_condition, check_statuses
from sluice.sharing.deadlines import deadline_view, due_after
from sluice.sharing.grants import org_codes
from sluice.sharing.permissions import may_read, oversees
from sluice.sharing.states import ObjectionAction, ObjectionState, Party
from sluice.sharing.steps import Subject, add_history, history_of, take_step
from sluice.usecase import use_case

OPEN = (ObjectionState.OPEN.value, ObjectionState.ESCALATED.value)
GRANT_SEEN = ("active", "suspended", "revoked")  # the objector's organisation has received the data


@use_case(can.can_object)
def raise_objection(session: Session, actor: Actor, *, data: ObjectionCreate) -> ObjectionPublic:
    """Flag one record (by its primary key) as wrong in one field, with the value believed right and evidence."""
    resource = session.scalars(select(Resource).where(Resource.code == data.resource, visible_to(actor))).one_or_none()
    if resource is None or not resource.visible:
        raise NotFound(f"no published resource {data.resource!r} that you may see", resource=data.resource)
    if resource.org_id == actor.org_id:
        raise Invalid(
            f"{resource.code} is your own organisation's: correct it with a new version", resource=resource.code
        )
    description = serving_description(session, resource)
    names = [f.name for f in description.fields]
    seen = names if resource.open_type == OpenType.OPEN.value else _seen_in_clear(session, actor, resource)
    if not seen:
        raise Forbidden(
            f"your organisation has never been granted {resource.code}: objections come from those who use the data",
            resource=resource.code,
        )
    key = [f.name for f in description.fields if f.primary_key]
    if not key:
        raise Invalid(
            f"{resource.code} has no primary key, so its records cannot be named; tell its provider",
            resource=resource.code,
        )
    if sorted(data.record) != sorted(key):
        raise Invalid(
            f"name the record by its primary key: {', '.join(key)} (given: {', '.join(sorted(data.record)) or 'nothing'})",
            field="record",
        )
    if data.field not in names:
        raise Invalid(f"{resource.code} has no field {data.field!r}", field="field")
    if data.field not in seen:
        # An answer about a value the objector was never shown would tell it that value: refused.
        raise Forbidden(
            f"{data.field} is not among the fields your organisation was granted in clear; object only to what you "
            "were given",
            field="field",
        )
    at = now(session)
    due = due_after(session, settings_of(session).objection_answer_days)
    version = serving_version(session, resource.id)
    objection = Objection(
        resource_id=resource.id,
        provider_org_id=resource.org_id,
        objector_org_id=actor.org_id,
        raised_by=actor.username,
        record_key_json=json.dumps(data.record, ensure_ascii=False, sort_keys=True, default=str),
        field=data.field,
        claimed_value=data.claimed_value,
        evidence=data.evidence.strip(),
        version_seen=version.number if version else None,
        status=ObjectionState.OPEN.value,
        deadline_at=due.due_at,
        deadline_exact=due.exact,
        created_at=at,
    )
    session.add(objection)
    session.flush()
    add_history(
        session,
        actor,
        subject="objection",
        subject_id=objection.id,
        party=Party.APPLICANT,
        action="raise",
        from_status=None,
        to_status=objection.status,
    )
    # The log holds the claim's shape, never the values: they may be personal data.
    record(
        session,
        actor,
        "objection.raise",
        f"objection:{objection.id}",
        resource=resource.code,
        field=data.field,
        key_fields=key,
    )
    notify(
        session,
        kind="objection.raised",
        target=f"objection:{objection.id}",
        message=f"{actor.org_code} believes a record of {resource.code} is wrong in {data.field}; answer by "
        f"{objection.deadline_at.isoformat()}",
        org_id=resource.org_id,
        detail={"objection": objection.id, "resource": resource.code},
    )
    return _public(session, objection)


@use_case(can.can_take_part)
def accept_objection(session: Session, actor: Actor, *, objection_id: int, answer: ObjectionAnswer) -> ObjectionPublic:
    """The provider agrees the record is wrong; with ``version``, it also names the version that corrects it."""
    objection = _objection(session, actor, objection_id)
    if answer.version is not None:
        _check_correction(session, objection, answer.version)
    _step(session, actor, objection, ObjectionAction.ACCEPT, answer.reason)
    _answered(session, actor, objection, answer.reason)
    record(session, actor, "objection.accept", f"objection:{objection.id}", reason=answer.reason or None)
    if answer.version is not None:
        _correct(session, actor, objection, answer.version)
    else:
        _tell_objector(session, objection, "accepted; a corrected version will follow")
    return _public(session, objection)


@use_case(can.can_take_part)
def correct_objection(session: Session, actor: Actor, *, objection_id: int, answer: ObjectionAnswer) -> ObjectionPublic:
    """Link an accepted objection to the published version that corrects it."""
    objection = _objection(session, actor, objection_id)
    if answer.version is None:
        raise Invalid("name the version that corrects the record", field="version")
    _check_correction(session, objection, answer.version)
    _correct(session, actor, objection, answer.version)
    return _public(session, objection)


@use_case(can.can_take_part)
def reject_objection(session: Session, actor: Actor, *, objection_id: int, answer: ObjectionAnswer) -> ObjectionPublic:
    """The provider holds the record right, saying why (required)."""
    objection = _objection(session, actor, objection_id)
    _step(session, actor, objection, ObjectionAction.REJECT, answer.reason)
    _answered(session, actor, objection, answer.reason)
    record(session, actor, "objection.reject", f"objection:{objection.id}", reason=answer.reason)
    _tell_objector(session, objection, f"rejected: {answer.reason}")
    return _public(session, objection)


@use_case(can.can_take_part)
def withdraw_objection(session: Session, actor: Actor, *, objection_id: int) -> ObjectionPublic:
    objection = _objection(session, actor, objection_id)
    _step(session, actor, objection, ObjectionAction.WITHDRAW, "")
    record(session, actor, "objection.withdraw", f"objection:{objection.id}")
    return _public(session, objection)


@use_case(can.can_read)
def list_objections(
    session: Session,
    actor: Actor,
    *,
    box: str = "mine",
    status: list[str] | None = None,
    resource: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ObjectionPublic]:
    """``mine``: raised by my organisation; ``to_me``: about my organisation's data; ``all``: the manager and
    the auditor."""
    query = select(Objection).where(
        box_condition(
            actor,
            box,
            own={"mine": Objection.objector_org_id, "to_me": Objection.provider_org_id},
            overseen={"all": None},
            what="objections",
        )
    )
    if status:
        query = query.where(Objection.status.in_(check_statuses(status, (s.value for s in ObjectionState))))
    if resource:
        query = query.join(Resource, Resource.id == Objection.resource_id).where(Resource.code == resource)
    check_limit(limit, settings_of(session).page_size_max)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(Objection.id < after)
    rows = session.scalars(query.order_by(Objection.id.desc()).limit(limit + 1)).all()
    items = [_public(session, o) for o in rows[:limit]]
    return Page(items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None)


@use_case(can.can_read)
def get_objection(session: Session, actor: Actor, *, objection_id: int) -> ObjectionPublic:
    return _public(session, _objection(session, actor, objection_id), history=True)


@use_case(can.can_report)
def objection_rates(session: Session, actor: Actor, *, by: str = "resource") -> list[ObjectionRate]:
    """Objections per resource (or per providing organisation) against the answers given from it. A provider
    sees its own organisation's figures; the manager and the auditor see everyone's."""
    if by not in ("resource", "organisation"):
        raise Invalid("by is resource or organisation", field="by", value=by)
    at = now(session)
    resources = select(Resource.id, Resource.code, Resource.org_id, Resource.use_count)
    if not oversees(actor):
        resources = resources.where(Resource.org_id == (actor.org_id if actor.org_id is not None else -1))
    known = {row.id: row for row in session.execute(resources)}
    counts = session.execute(
        select(Objection.resource_id, Objection.status, (Objection.deadline_at <= at).label("late"), func.count())
        .where(Objection.resource_id.in_(list(known)))
        .group_by(Objection.resource_id, Objection.status, "late")
    ).all()
    orgs = {row.id: row.code for row in session.execute(select(Organisation.id, Organisation.code))}
    tally: dict[str, dict[str, Any]] = {}
    for row in known.values():
        name = row.code if by == "resource" else orgs[row.org_id]
        entry = tally.setdefault(
            name,
            {"deliveries": 0, "objections": 0, "open": 0, "overdue": 0, "accepted": 0, "corrected": 0, "rejected": 0},
        )
        entry["deliveries"] += row.use_count
    for resource_id, status, late, n in counts:
        row = known[resource_id]
        entry = tally[row.code if by == "resource" else orgs[row.org_id]]
        entry["objections"] += n
        if status in OPEN:
            entry["open"] += n
            entry["overdue"] += n if late else 0
        elif status in ("accepted", "corrected", "rejected"):
            entry[status] += n
            if status == "corrected":
                entry["accepted"] += n
    rates = [
        ObjectionRate(
            key=key,
            per_thousand_deliveries=round(1000 * v["objections"] / v["deliveries"], 3) if v["deliveries"] else None,
            **v,
        )
        for key, v in tally.items()
        if v["objections"] or v["deliveries"]
    ]
    return sorted(rates, key=lambda r: (-r.objections, r.key))


# --- helpers -------------------------------------------------------------------------------------------------


def _seen_in_clear(session: Session, actor: Actor, resource: Resource) -> list[str]:
    """The fields of ``resource`` the objector's organisation has been given unmasked under any grant."""
    grants = session.scalars(
        select(Grant).where(
            Grant.resource_id == resource.id,
            Grant.assignee_org_id == (actor.org_id if actor.org_id is not None else -1),
            Grant.status.in_(GRANT_SEEN),
        )
    ).all()
    seen: dict[str, None] = {}
    for grant in grants:
        masked = set(json.loads(grant.masks_json))
        seen.update((name, None) for name in json.loads(grant.fields_json) if name not in masked)
    return list(seen)


def _objection(session: Session, actor: Actor, objection_id: int) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None or not may_read(
        actor, applicant_org_id=objection.objector_org_id, provider_org_id=objection.provider_org_id
    ):
        raise NotFound(f"no objection {objection_id} that you may see", objection=objection_id)
    return objection


def _step(session: Session, actor: Actor, objection: Objection, action: ObjectionAction, reason: str) -> Party:
    subject = Subject(
        "objection", objection.id, objection.status, objection.objector_org_id, objection.provider_org_id, Objection
    )
    found, party = take_step(session, actor, subject, action.value, reason)
    set_committed_value(objection, "status", found.to)
    return party


def _answered(session: Session, actor: Actor, objection: Objection, reason: str) -> None:
    objection.answered_by, objection.answered_at, objection.reason = actor.username, now(session), reason or None


def _check_correction(session: Session, objection: Objection, number: int) -> None:
    version = session.scalars(
        select(Version).where(Version.resource_id == objection.resource_id, Version.number == number)
    ).one_or_none()
    if version is None or version.published_at is None:
        raise Invalid(f"version {number} is not a published version of this resource", field="version")
    if objection.version_seen is not None and number <= objection.version_seen:
        raise Invalid(
            f"version {number} is not newer than version {objection.version_seen}, which the objection was about; "
            "publish the corrected data as a new version first",
            field="version",
        )


def _correct(session: Session, actor: Actor, objection: Objection, number: int) -> None:
    _step(session, actor, objection, ObjectionAction.CORRECT, "")
    objection.fixed_in_version = number
    record(session, actor, "objection.correct", f"objection:{objection.id}", version=number)
    _tell_objector(session, objection, f"corrected in version {number}")


def _tell_objector(session: Session, objection: Objection, words: str) -> None:
    notify(
        session,
        kind=f"objection.{objection.status}",
        target=f"objection:{objection.id}",
        message=f"objection {objection.id}: {words}",
        org_id=objection.objector_org_id,
        detail={"objection": objection.id},
    )


def _public(session: Session, objection: Objection, *, history: bool = False) -> ObjectionPublic:
    orgs = org_codes(session, objection.provider_org_id, objection.objector_org_id)
    resource = session.get_one(Resource, objection.resource_id)
    return ObjectionPublic(
        id=objection.id,
        resource=resource.code,
        provider_org=orgs[objection.provider_org_id],
        objector_org=orgs[objection.objector_org_id],
        raised_by=objection.raised_by,
        record=json.loads(objection.record_key_json),
        field=objection.field,
        claimed_value=objection.claimed_value,
        evidence=objection.evidence,
        version_seen=objection.version_seen,
        status=objection.status,
        deadline=deadline_view(
            session, objection.deadline_at, objection.deadline_exact, open_=objection.status in OPEN
        ),
        escalated_at=objection.escalated_at,
        answered_by=objection.answered_by,
        answered_at=objection.answered_at,
        reason=objection.reason,
        fixed_in_version=objection.fixed_in_version,
        created_at=objection.created_at,
        history=history_of(session, ("objection", objection.id)) if history else [],
    )


__all__ = ["Conflict"]
