"""Use cases of sharing: applications and their answers, grants as signed contracts, and the deadline sweep.

Every step is looked up in the transition tables (``states``) for the caller's party, then taken with a
conditional UPDATE (``WHERE status = <the state it was read in>``): of two people answering one application at
once, exactly one succeeds and the other is told it was answered just now. Each step writes its history row,
its audit event and its notices in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import current_description, find_resource, serving_description, visible_to
from sluice.catalog.schemas import FieldSpec, ResourceDescription
from sluice.catalog.vocab import Grade, OpenType, Sensitivity, SharingType
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.gateway.masks import MaskKind
from sluice.gateway.models import Grant
from sluice.gateway.schemas import Delivery, GrantCreate, GrantPublic
from sluice.gateway.terms import check_masks, check_row_filter, default_masks
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation
from sluice.identity.permissions import in_person
from sluice.identity.queries import find_organisation, find_user
from sluice.identity.roles import OrgKind, Role
from sluice.inbox.post import notify
from sluice.pagination import Page, check_limit, decode_cursor, encode_cursor
from sluice.sharing import permissions as can
from sluice.sharing.boxes import box_condition, check_statuses
from sluice.sharing.contracts import contract_of, sign_terms
from sluice.sharing.deadlines import deadline_view, due_after
from sluice.sharing.grants import grant_public, new_grant, org_codes, terms_document
from sluice.sharing.models import Application
from sluice.sharing.permissions import may_read, parties_of
from sluice.sharing.schemas import (
    Answer,
    ApplicationCreate,
    ApplicationItem,
    ApplicationPublic,
    Approval,
    Contract,
    Obligations,
    Resubmission,
    Terms,
)
from sluice.sharing.states import (
    ApplicationAction,
    ApplicationState,
    GrantAction,
    GrantState,
    Party,
)
from sluice.sharing.steps import Subject, add_history, history_of, take_step
from sluice.sharing.workdays import YearCalendar, install_holiday_file
from sluice.usecase import use_case

OPEN_STATES = (
    ApplicationState.PENDING.value,
    ApplicationState.ESCALATED.value,
    ApplicationState.CHANGES_REQUESTED.value,
    ApplicationState.AWAITING_COUNTERSIGN.value,
)
WAITING_FOR_PROVIDER = (ApplicationState.PENDING.value, ApplicationState.ESCALATED.value)


class SweepReport(BaseModel):
    applications_escalated: list[int]
    objections_escalated: list[int]


# --- applications: filing ------------------------------------------------------------------------------------


@use_case(can.can_apply)
def file_application(session: Session, actor: Actor, *, data: ApplicationCreate) -> list[ApplicationPublic]:
    """File one application per resource asked for (sharing a batch); each goes to its provider's queue with a
    deadline in working days. Every resource is checked before any is filed."""
    at = now(session)
    settings = settings_of(session)
    valid_from = data.valid_from or at
    _check_period(valid_from, data.valid_until, at, settings.grant_max_days)
    codes = [item.resource for item in data.items]
    if len(set(codes)) != len(codes):
        raise Invalid("each resource may be asked for once per application", field="items")
    checked = [_checked_item(session, actor, item, data.purpose) for item in data.items]
    due = due_after(session, settings.application_answer_days)
    batch = uuid.uuid4().hex
    filed = []
    for item, resource in checked:
        application = Application(
            batch=batch,
            resource_id=resource.id,
            applicant_org_id=actor.org_id,
            provider_org_id=resource.org_id,
            applicant=actor.username,
            fields_json=json.dumps(item.fields),
            unmasked_json=json.dumps(item.unmasked),
            row_filter=item.row_filter,
            purpose=data.purpose,
            legal_basis=data.legal_basis,
            valid_from=valid_from,
            valid_until=data.valid_until,
            quota=data.quota,
            delivery_json=json.dumps([d.value for d in data.delivery]),
            status=ApplicationState.PENDING.value,
            round=1,
            deadline_at=due.due_at,
            deadline_exact=due.exact,
            created_at=at,
            updated_at=at,
        )
        session.add(application)
        session.flush()
        add_history(
            session,
            actor,
            subject="application",
            subject_id=application.id,
            party=Party.APPLICANT,
            action="file",
            from_status=None,
            to_status=application.status,
        )
        record(
            session,
            actor,
            "application.file",
            f"application:{application.id}",
            resource=resource.code,
            fields=item.fields,
            unmasked=item.unmasked,
            row_filter_sha256=_digest(item.row_filter),  # a scope may name people: the log keeps its digest
            purpose=data.purpose,
            legal_basis=data.legal_basis,
            deadline=application.deadline_at.isoformat(),
        )
        notify(
            session,
            kind="application.filed",
            target=f"application:{application.id}",
            message=f"{actor.org_code} applied for {resource.code} ({data.purpose}); answer by "
            f"{application.deadline_at.isoformat()}",
            org_id=resource.org_id,
            detail={"application": application.id, "resource": resource.code},
        )
        filed.append(_application_public(session, application, resource))
    return filed


def _checked_item(
    session: Session, actor: Actor, item: ApplicationItem, purpose: str
) -> tuple[ApplicationItem, Resource]:
    resource = session.scalars(select(Resource).where(Resource.code == item.resource, visible_to(actor))).one_or_none()
    if resource is None or not resource.visible:
        raise NotFound(f"no published resource {item.resource!r} that you may see", resource=item.resource)
    _may_apply_for(actor, resource, session)
    ordered = _checked_fields(resource, serving_description(session, resource), item)
    duplicate = session.scalars(
        select(Application.id).where(
            Application.resource_id == resource.id,
            Application.applicant_org_id == actor.org_id,
            Application.status.in_(OPEN_STATES),
            Application.purpose == purpose,
        )
    ).first()
    if duplicate is not None:
        raise Conflict(
            f"your organisation already has application {duplicate} open for {resource.code} with this purpose; "
            "wait for its answer or withdraw it",
            application=duplicate,
        )
    return item.model_copy(update={"fields": ordered}), resource


def _checked_fields(resource: Resource, description: ResourceDescription, item: ApplicationItem) -> list[str]:
    """The fields asked for, known and in the resource's order; fields in clear among them and sensitive; the row
    scope a plain condition over the resource's fields."""
    fields = {f.name: f for f in description.fields}
    unknown = [name for name in [*item.fields, *item.unmasked] if name not in fields]
    if unknown:
        raise Invalid(f"{resource.code} has no field(s) {', '.join(unknown)}", field="fields", resource=resource.code)
    not_asked = [name for name in item.unmasked if name not in item.fields]
    if not_asked:
        raise Invalid(f"fields asked for in clear must be asked for: {', '.join(not_asked)}", field="unmasked")
    not_sensitive = [name for name in item.unmasked if fields[name].sensitivity is not Sensitivity.SENSITIVE]
    if not_sensitive:
        raise Invalid(
            f"only sensitive fields are masked by default; {', '.join(not_sensitive)} need not be asked for in clear",
            field="unmasked",
        )
    if item.row_filter:
        check_row_filter(item.row_filter, fields)
    return [f.name for f in description.fields if f.name in set(item.fields)]


def _may_apply_for(actor: Actor, resource: Resource, session: Session) -> None:
    """The catalog's sharing rules, as refusals that say why and what to do instead."""
    code = resource.code
    if resource.org_id == actor.org_id:
        raise Invalid(f"{code} is your own organisation's: its accounts use it without a grant", resource=code)
    if actor.org_kind is OrgKind.ENTERPRISE and resource.open_type == OpenType.OPEN.value:
        raise Invalid(f"{code} is open data: query or download it without applying", resource=code)
    if (
        actor.org_kind is OrgKind.DEPARTMENT
        and resource.sharing_type == SharingType.UNCONDITIONAL.value
        and resource.grade == Grade.GENERAL.value
    ):
        raise Invalid(
            f"{code} is shared unconditionally (无条件共享): query it directly with your purpose; the platform issues "
            "a standing grant on first use",
            resource=code,
        )
    _grantable(session, resource, actor.org_kind)


def _grantable(session: Session, resource: Resource, kind: OrgKind | None) -> None:
    """What forbids granting ``resource`` to an organisation of ``kind`` — checked when an application is filed,
    resubmitted, approved and countersigned, since the catalog may change in between."""
    code = resource.code
    if resource.grade == Grade.CORE.value:
        raise Forbidden(f"{code} is core data (核心数据): it is never granted outside its department", resource=code)
    if kind is OrgKind.ENTERPRISE:
        if resource.open_type != OpenType.CONDITIONAL.value:
            raise Forbidden(f"{code} is not open to enterprises (不予开放)", resource=code)
        return
    if resource.sharing_type == SharingType.NOT_SHARED.value:
        basis = current_description(session, resource).legal_basis or "(no basis stated)"
        raise Forbidden(f"{code} is not shared (不予共享) under: {basis}", resource=code, legal_basis=basis)


def _still_grantable(session: Session, application: Application, resource: Resource) -> None:
    applicant = session.get_one(Organisation, application.applicant_org_id)
    _grantable(session, resource, OrgKind(applicant.kind))


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def _check_period(valid_from: datetime, valid_until: datetime, at: datetime, max_days: int) -> None:
    if valid_until <= valid_from:
        raise Invalid("the period must end after it starts", field="valid_until")
    if valid_until <= at:
        raise Invalid("the period has already ended; ask for a period in the future", field="valid_until")
    if valid_until - valid_from > timedelta(days=max_days):
        raise Invalid(
            f"a grant lasts at most {max_days} days; ask for a shorter period (renew it with a new application)",
            field="valid_until",
        )


# --- applications: answers ------------------------------------------------------------------------------------


@use_case(can.can_take_part)
def approve_application(
    session: Session, actor: Actor, *, application_id: int, approval: Approval
) -> ApplicationPublic:
    """The provider (or, once escalated, the manager) approves — possibly narrowing fields, rows, period, quota
    or delivery. Important data then waits for the manager's countersignature; otherwise the grant is issued."""
    application, resource = _application(session, actor, application_id)
    _still_grantable(session, application, resource)
    description = serving_description(session, resource)
    terms = _approved_terms(application, approval, description)
    important = resource.grade == Grade.IMPORTANT.value
    action = ApplicationAction.ENDORSE if important else ApplicationAction.APPROVE
    party = _move(session, actor, application, action, approval.comment)
    at = now(session)
    application.terms_json = terms.model_dump_json()
    application.answered_by, application.answered_at, application.reason = actor.username, at, approval.comment or None
    record(
        session,
        actor,
        f"application.{action.value}",
        f"application:{application.id}",
        party=party.value,
        terms={**json.loads(application.terms_json), "row_filter": _digest(terms.row_filter)},
        narrowed=_narrowed(application, terms, description),
    )
    if important:
        notify(
            session,
            kind="application.countersign",
            target=f"application:{application.id}",
            message=f"{resource.code} is important data: {actor.org_code} approved application {application.id}; "
            "it needs your countersignature",
            role=Role.MANAGER,
            detail={"application": application.id},
        )
        _tell_applicant(
            session, application, "application.endorsed", "approved; waiting for the manager's countersignature"
        )
    else:
        _issue(
            session,
            actor,
            application=application,
            resource=resource,
            terms=terms,
            description=description,
            party=party,
        )
    return _application_public(session, application, resource)


@use_case(can.can_take_part)
def countersign_application(
    session: Session, actor: Actor, *, application_id: int, answer: Answer
) -> ApplicationPublic:
    """The manager countersigns important data after the provider's approval; the grant is then issued.
    A second person must sign: never the account that approved it, never one of the providing organisation."""
    in_person(actor, "a countersignature")
    application, resource = _application(session, actor, application_id)
    _still_grantable(session, application, resource)
    if application.answered_by == actor.username:
        raise Forbidden(
            "a single account can never approve its own request: another manager must countersign what you approved",
            rule="two_person",
        )
    if actor.org_id == application.provider_org_id:
        raise Forbidden("the providing organisation cannot countersign its own grant", rule="two_person")
    party = _move(session, actor, application, ApplicationAction.COUNTERSIGN, answer.reason)
    at = now(session)
    application.countersigned_by, application.countersigned_at = actor.username, at
    record(session, actor, "application.countersign", f"application:{application.id}", comment=answer.reason or None)
    terms = Terms.model_validate_json(application.terms_json or "{}")
    description = serving_description(session, resource)
    _issue(
        session,
        actor,
        application=application,
        resource=resource,
        terms=terms,
        description=description,
        party=party,
        countersigner=actor,
    )
    return _application_public(session, application, resource)


@use_case(can.can_take_part)
def request_changes(session: Session, actor: Actor, *, application_id: int, answer: Answer) -> ApplicationPublic:
    """Send the application back to the applicant, saying what to change (the deadline stops)."""
    return _answer(session, actor, application_id, ApplicationAction.REQUEST_CHANGES, answer, words="changes requested")


@use_case(can.can_take_part)
def refuse_application(session: Session, actor: Actor, *, application_id: int, answer: Answer) -> ApplicationPublic:
    """Refuse, with the reason (required): the provider, the manager once escalated, or the manager declining
    to countersign."""
    return _answer(session, actor, application_id, ApplicationAction.REFUSE, answer, words="refused")


@use_case(can.can_take_part)
def withdraw_application(session: Session, actor: Actor, *, application_id: int) -> ApplicationPublic:
    return _answer(session, actor, application_id, ApplicationAction.WITHDRAW, Answer(), words="withdrawn")


@use_case(can.can_take_part)
def resubmit_application(
    session: Session, actor: Actor, *, application_id: int, changes: Resubmission
) -> ApplicationPublic:
    """The applicant answers a request for changes; the provider's deadline starts again."""
    application, resource = _application(session, actor, application_id)
    _still_grantable(session, application, resource)
    item = ApplicationItem(
        resource=resource.code,
        fields=changes.fields or json.loads(application.fields_json),
        row_filter=changes.row_filter if changes.row_filter is not None else application.row_filter,
        unmasked=changes.unmasked if changes.unmasked is not None else json.loads(application.unmasked_json),
    )
    purpose = " ".join((changes.purpose or application.purpose).split())
    valid_from = changes.valid_from or application.valid_from
    valid_until = changes.valid_until or application.valid_until
    settings = settings_of(session)
    _check_period(valid_from, valid_until, now(session), settings.grant_max_days)
    ordered = _checked_fields(resource, serving_description(session, resource), item)
    _move(session, actor, application, ApplicationAction.RESUBMIT, changes.comment)
    due = due_after(session, settings.application_answer_days)
    application.fields_json = json.dumps(ordered)
    application.unmasked_json = json.dumps(item.unmasked)
    application.row_filter = item.row_filter
    application.purpose = purpose
    application.legal_basis = " ".join((changes.legal_basis or application.legal_basis).split())
    application.valid_from, application.valid_until = valid_from, valid_until
    if changes.quota is not None:
        application.quota = changes.quota
    if changes.delivery is not None:
        application.delivery_json = json.dumps([d.value for d in changes.delivery])
    application.round += 1
    application.deadline_at, application.deadline_exact = due.due_at, due.exact
    application.escalated_at = None
    record(session, actor, "application.resubmit", f"application:{application.id}", round=application.round)
    notify(
        session,
        kind="application.resubmitted",
        target=f"application:{application.id}",
        message=f"{_application_org(session, application)} changed application {application.id} for {resource.code} "
        "as you asked; please answer it",
        org_id=application.provider_org_id,
        detail={"application": application.id},
    )
    return _application_public(session, application, resource)


# --- applications: reading -----------------------------------------------------------------------------------


@use_case(can.can_read)
def list_applications(
    session: Session,
    actor: Actor,
    *,
    box: str = "mine",
    status: list[str] | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ApplicationPublic]:
    """``mine``: filed by my organisation; ``to_me``: for my organisation's resources (the provider's queue);
    ``countersign``: waiting for the manager; ``escalated``: past their deadline; ``all``: manager and auditor."""
    query = select(Application, Resource).join(Resource, Resource.id == Application.resource_id)
    query = query.where(
        box_condition(
            actor,
            box,
            own={"mine": Application.applicant_org_id, "to_me": Application.provider_org_id},
            overseen={
                "countersign": Application.status == ApplicationState.AWAITING_COUNTERSIGN.value,
                "escalated": Application.status == ApplicationState.ESCALATED.value,
                "all": None,
            },
            what="applications",
        )
    )
    if status:
        query = query.where(Application.status.in_(check_statuses(status, (s.value for s in ApplicationState))))
    check_limit(limit, settings_of(session).page_size_max)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(Application.id < after)
    rows = session.execute(query.order_by(Application.id.desc()).limit(limit + 1)).all()
    items = [_application_public(session, a, r) for a, r in rows[:limit]]
    return Page(items=items, next=encode_cursor(items[-1].id) if len(rows) > limit else None)


@use_case(can.can_read)
def get_application(session: Session, actor: Actor, *, application_id: int) -> ApplicationPublic:
    application, resource = _application(session, actor, application_id)
    return _application_public(session, application, resource, history=True)


# --- grants --------------------------------------------------------------------------------------------------


@use_case(can.can_record_grant)
def create_grant(session: Session, actor: Actor, *, data: GrantCreate) -> GrantPublic:
    """Record a grant agreed outside the platform (e.g. paper agreements being migrated), at the shell.
    It is signed by the platform on the provider's behalf and active at once."""
    resource = find_resource(session, data.resource)
    assignee = find_organisation(session, data.assignee)
    if resource.grade == Grade.CORE.value and assignee.id != resource.org_id:
        raise Forbidden(f"{resource.code} is core data: it is never granted outside its department")
    description = current_description(session, resource)
    fields = {f.name: f for f in description.fields}
    unknown = [name for name in [*data.fields, *data.masks] if name not in fields]
    if unknown:
        raise Invalid(f"{data.resource} has no field(s) {', '.join(unknown)}", field="fields")
    check_masks(fields, data.masks)
    if data.valid_until <= data.valid_from:
        raise Invalid("a grant must end after it starts", field="valid_until")
    if data.row_filter:
        check_row_filter(data.row_filter, fields)
    terms = Terms(
        fields=[name for name in fields if name in data.fields],
        masks=data.masks,
        row_filter=data.row_filter,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        quota=data.quota,
        delivery=data.delivery,
        obligations=Obligations(delete_after_days=data.delete_after_days),
    )
    grant = new_grant(
        session,
        resource,
        assignee.id,
        terms,
        purpose=" ".join(data.purpose.split()),
        legal_basis=data.legal_basis,
        created_by=actor.username,
        status=GrantState.ACTIVE,
    )
    event = record(
        session,
        actor,
        "grant.record",
        f"grant:{grant.id}",
        resource=data.resource,
        assignee=data.assignee,
        fields=terms.fields,
        masks={k: v.kind.value for k, v in data.masks.items()},
        purpose=grant.purpose,
        terms_digest=grant.terms_digest,
    )
    sign_terms(
        session,
        grant,
        party="platform",
        organisation=None,
        account=actor.username,
        at=now(session),
        audit_event=event.id,
    )
    return grant_public(session, grant)


@use_case(can.can_read)
def list_grants(
    session: Session, actor: Actor, *, box: str = "mine", status: list[str] | None = None
) -> list[GrantPublic]:
    """``mine``: held by my organisation (with calls left); ``given``: given by my organisation; ``all``: the
    manager and the auditor."""
    query = select(Grant).where(
        box_condition(
            actor,
            box,
            own={"mine": Grant.assignee_org_id, "given": Grant.assigner_org_id},
            overseen={"all": None},
            what="grants",
        )
    )
    if status:
        query = query.where(Grant.status.in_(check_statuses(status, (s.value for s in GrantState))))
    return [grant_public(session, g) for g in session.scalars(query.order_by(Grant.id))]


@use_case(can.can_read)
def get_grant(session: Session, actor: Actor, *, grant_id: int) -> GrantPublic:
    return grant_public(session, _grant(session, actor, grant_id))


@use_case(can.can_read)
def get_contract(session: Session, actor: Actor, *, grant_id: int) -> Contract:
    """The grant as a contract: its terms, their digest and every party's signature."""
    grant = _grant(session, actor, grant_id)
    return contract_of(session, grant, terms_document(session, grant))


@use_case(can.can_take_part)
def accept_grant(session: Session, actor: Actor, *, grant_id: int) -> GrantPublic:
    """The assignee accepts narrowed terms; its acceptance is signed and the grant becomes active."""
    grant = _grant(session, actor, grant_id)
    _move_grant(session, actor, grant, GrantAction.ACCEPT, "")
    event = record(session, actor, "grant.accept", f"grant:{grant.id}", terms_digest=grant.terms_digest)
    sign_terms(
        session,
        grant,
        party="assignee",
        organisation=actor.org_code,
        account=actor.username,
        at=now(session),
        audit_event=event.id,
    )
    _tell(session, grant.assigner_org_id, grant, "grant.accepted", f"{actor.org_code} accepted grant {grant.id}")
    return grant_public(session, grant)


@use_case(can.can_take_part)
def decline_grant(session: Session, actor: Actor, *, grant_id: int, answer: Answer) -> GrantPublic:
    grant = _grant(session, actor, grant_id)
    _move_grant(session, actor, grant, GrantAction.DECLINE, answer.reason)
    record(session, actor, "grant.decline", f"grant:{grant.id}", reason=answer.reason or None)
    _tell(session, grant.assigner_org_id, grant, "grant.declined", f"{actor.org_code} declined grant {grant.id}")
    return grant_public(session, grant)


@use_case(can.can_take_part)
def suspend_grant(session: Session, actor: Actor, *, grant_id: int, answer: Answer) -> GrantPublic:
    """Stop a grant for now (the next call is refused), saying why."""
    return _change_grant(session, actor, grant_id, GrantAction.SUSPEND, answer)


@use_case(can.can_take_part)
def resume_grant(session: Session, actor: Actor, *, grant_id: int, answer: Answer) -> GrantPublic:
    """Lift a suspension. A suspension the manager imposed is lifted by the manager only."""
    grant = _grant(session, actor, grant_id)
    held = parties_of(actor, applicant_org_id=grant.assignee_org_id, provider_org_id=grant.assigner_org_id)
    if grant.status_party == Party.MANAGER.value and Party.MANAGER not in held:
        raise Forbidden("the manager suspended this grant; only the manager can resume it", rule="suspended_by_manager")
    return _change_grant(session, actor, grant_id, GrantAction.RESUME, answer)


@use_case(can.can_take_part)
def revoke_grant(session: Session, actor: Actor, *, grant_id: int, answer: Answer) -> GrantPublic:
    """End a grant for good (the next call — and a download being streamed — is stopped), saying why."""
    return _change_grant(session, actor, grant_id, GrantAction.REVOKE, answer)


# --- deadlines ----------------------------------------------------------------------------------------------


@use_case(can.can_change_calendar)
def load_holidays(session: Session, actor: Actor, *, source: Path, directory: Path, replace: bool) -> YearCalendar:
    """Install a year's official holidays (a configuration change every deadline depends on) and record it: the
    year, the counts, where from, and the file's SHA-256."""
    calendar = install_holiday_file(source, directory, replace=replace)
    record(
        session,
        actor,
        "config.holidays",
        f"holidays:{calendar.year}",
        holidays=len(calendar.holidays),
        workdays=len(calendar.workdays),
        source=calendar.source,
        sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        replaced=replace,
    )
    return calendar


@use_case(can.can_sweep)
def sweep_deadlines(session: Session, actor: Actor) -> SweepReport:
    """Escalate every application and objection past its deadline to the manager (the server runs this on a
    timer; `sluice sharing sweep` runs it once)."""
    from sluice.objections.sweep import escalate_overdue_objections

    at = now(session)
    overdue = session.scalars(
        select(Application).where(Application.status == ApplicationState.PENDING.value, Application.deadline_at <= at)
    ).all()
    escalated = []
    for application in overdue:
        resource = session.get_one(Resource, application.resource_id)
        try:
            _move(session, actor, application, ApplicationAction.ESCALATE, "")
        except Conflict:
            continue  # answered meanwhile
        application.escalated_at = at
        record(
            session,
            actor,
            "application.escalate",
            f"application:{application.id}",
            deadline=application.deadline_at.isoformat(),
        )
        message = (
            f"application {application.id} for {resource.code} was not answered by its deadline; the manager may "
            "now answer in the provider's place"
        )
        notify(
            session,
            kind="application.escalated",
            target=f"application:{application.id}",
            message=message,
            role=Role.MANAGER,
            detail={"application": application.id},
        )
        for org in (application.provider_org_id, application.applicant_org_id):
            notify(
                session,
                kind="application.escalated",
                target=f"application:{application.id}",
                message=message,
                org_id=org,
                detail={"application": application.id},
            )
        escalated.append(application.id)
    return SweepReport(
        applications_escalated=escalated, objections_escalated=escalate_overdue_objections(session, actor)
    )


# --- helpers -------------------------------------------------------------------------------------------------


def _application(session: Session, actor: Actor, application_id: int) -> tuple[Application, Resource]:
    application = session.get(Application, application_id)
    if application is None or not may_read(
        actor, applicant_org_id=application.applicant_org_id, provider_org_id=application.provider_org_id
    ):
        raise NotFound(f"no application {application_id} that you may see", application=application_id)
    return application, session.get_one(Resource, application.resource_id)


def _grant(session: Session, actor: Actor, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None or not may_read(
        actor, applicant_org_id=grant.assignee_org_id, provider_org_id=grant.assigner_org_id
    ):
        raise NotFound(f"no grant {grant_id} that you may see", grant=grant_id)
    return grant


def _move(session: Session, actor: Actor, application: Application, action: ApplicationAction, reason: str) -> Party:
    subject = Subject(
        "application",
        application.id,
        application.status,
        application.applicant_org_id,
        application.provider_org_id,
        Application,
    )
    found, party = take_step(session, actor, subject, action.value, reason)
    set_committed_value(application, "status", found.to)
    application.updated_at = now(session)
    return party


def _move_grant(session: Session, actor: Actor, grant: Grant, action: GrantAction, reason: str) -> Party:
    subject = Subject("grant", grant.id, grant.status, grant.assignee_org_id, grant.assigner_org_id, Grant)
    found, party = take_step(session, actor, subject, action.value, reason)
    set_committed_value(grant, "status", found.to)
    grant.status_reason, grant.status_party, grant.status_at = reason or None, party.value, now(session)
    return party


def _answer(
    session: Session, actor: Actor, application_id: int, action: ApplicationAction, answer: Answer, *, words: str
) -> ApplicationPublic:
    application, resource = _application(session, actor, application_id)
    party = _move(session, actor, application, action, answer.reason)
    if action is not ApplicationAction.WITHDRAW:
        application.answered_by, application.answered_at = actor.username, now(session)
        application.reason = answer.reason or None
    record(
        session,
        actor,
        f"application.{action.value}",
        f"application:{application.id}",
        party=party.value,
        reason=answer.reason or None,
    )
    if action is ApplicationAction.WITHDRAW:
        notify(
            session,
            kind="application.withdrawn",
            target=f"application:{application.id}",
            message=f"application {application.id} for {resource.code} was withdrawn",
            org_id=application.provider_org_id,
            detail={"application": application.id},
        )
    else:
        _tell_applicant(session, application, f"application.{action.value}", f"{words}: {answer.reason}")
    return _application_public(session, application, resource)


def _change_grant(session: Session, actor: Actor, grant_id: int, action: GrantAction, answer: Answer) -> GrantPublic:
    grant = _grant(session, actor, grant_id)
    party = _move_grant(session, actor, grant, action, answer.reason)
    record(
        session, actor, f"grant.{action.value}", f"grant:{grant.id}", party=party.value, reason=answer.reason or None
    )
    resource = session.get_one(Resource, grant.resource_id)
    message = f"grant {grant.id} for {resource.code}: {action.value}" + (f" — {answer.reason}" if answer.reason else "")
    _tell(session, grant.assignee_org_id, grant, f"grant.{action.value}", message)
    if party is Party.MANAGER:
        _tell(session, grant.assigner_org_id, grant, f"grant.{action.value}", message)
    return grant_public(session, grant)


def _approved_terms(application: Application, approval: Approval, description: ResourceDescription) -> Terms:
    """The requested terms narrowed by the approval; anything that would widen them is refused."""
    fields = {f.name: f for f in description.fields}
    asked = json.loads(application.fields_json)
    granted = approval.fields if approval.fields is not None else asked
    wider = sorted(set(granted) - set(asked))
    if wider:
        raise Invalid(f"an approval can only narrow: {', '.join(wider)} were not asked for", field="fields")
    granted = [name for name in asked if name in set(granted)]
    row_filter = application.row_filter
    if approval.row_filter:
        check_row_filter(approval.row_filter, fields)
        row_filter = f"({row_filter}) AND ({approval.row_filter})" if row_filter else approval.row_filter
    defaults = default_masks(description.fields, granted, json.loads(application.unmasked_json))
    masks = defaults
    if approval.masks is not None:
        check_masks(fields, approval.masks)
        masks = {k: v for k, v in approval.masks.items() if k in set(granted) and v.kind is not MaskKind.MASK_NONE}
        bare = sorted(set(defaults) - set(masks))
        if bare:
            raise Invalid(
                f"an approval can only narrow: {', '.join(bare)} are sensitive and were not asked for in clear, "
                "so they stay masked",
                field="masks",
            )
    valid_from = max(approval.valid_from or application.valid_from, application.valid_from)
    valid_until = min(approval.valid_until or application.valid_until, application.valid_until)
    if valid_until <= valid_from:
        raise Invalid("the approved period must end after it starts", field="valid_until")
    quota = approval.quota if approval.quota is not None else application.quota
    if application.quota is not None and quota is not None and quota > application.quota:
        raise Invalid(f"an approval can only narrow: the quota asked for is {application.quota}", field="quota")
    asked_delivery = [Delivery(d) for d in json.loads(application.delivery_json)]
    delivery = approval.delivery or asked_delivery
    if set(delivery) - set(asked_delivery):
        raise Invalid("an approval can only narrow: delivery modes must be among those asked for", field="delivery")
    return Terms(
        fields=granted,
        masks=masks,
        row_filter=row_filter,
        valid_from=valid_from,
        valid_until=valid_until,
        quota=quota,
        delivery=[d for d in asked_delivery if d in set(delivery)],
        obligations=approval.obligations,
    )


def _narrowed(application: Application, terms: Terms, description: ResourceDescription) -> bool:
    """Whether the approval gives less than was asked for (then the applicant must accept it first)."""
    asked = json.loads(application.fields_json)
    defaults = default_masks(description.fields, asked, json.loads(application.unmasked_json))
    return (
        terms.fields != asked
        or terms.row_filter != application.row_filter
        or terms.valid_from != application.valid_from
        or terms.valid_until != application.valid_until
        or terms.quota != application.quota
        or [d.value for d in terms.delivery] != json.loads(application.delivery_json)
        or terms.masks != defaults  # another mask than the default, or one more
        or terms.obligations != Obligations()  # an obligation the applicant did not see
    )


def _issue(
    session: Session,
    actor: Actor,
    *,
    application: Application,
    resource: Resource,
    terms: Terms,
    description: ResourceDescription,
    party: Party,
    countersigner: Actor | None = None,
) -> Grant:
    """The approved application becomes a grant: active when the terms are what was asked for (the application is
    the applicant's acceptance), offered when narrowed (the applicant must accept them)."""
    narrowed = _narrowed(application, terms, description)
    grant = new_grant(
        session,
        resource,
        application.applicant_org_id,
        terms,
        purpose=application.purpose,
        legal_basis=application.legal_basis,
        created_by=application.answered_by or actor.username,
        status=GrantState.OFFERED if narrowed else GrantState.ACTIVE,
        application_id=application.id,
    )
    application.grant_id = grant.id
    event = record(
        session,
        actor,
        "grant.issue",
        f"grant:{grant.id}",
        application=application.id,
        resource=resource.code,
        status=grant.status,
        terms_digest=grant.terms_digest,
    )
    at = now(session)
    approver = application.answered_by or actor.username
    assigner_org = find_user(session, approver).organisation.code  # the provider's, or the manager's in its place
    sign_terms(
        session, grant, party="assigner", organisation=assigner_org, account=approver, at=at, audit_event=event.id
    )
    if countersigner is not None:
        sign_terms(
            session,
            grant,
            party="countersigner",
            organisation=countersigner.org_code,
            account=countersigner.username,
            at=at,
            audit_event=event.id,
        )
    add_history(
        session,
        actor,
        subject="grant",
        subject_id=grant.id,
        party=party,
        action="issue",
        from_status=None,
        to_status=grant.status,
    )
    if narrowed:
        _tell_applicant(
            session, application, "grant.offered", f"approved with narrowed terms: accept grant {grant.id} to use it"
        )
    else:
        applicant_org = org_codes(session, application.applicant_org_id)[application.applicant_org_id]
        sign_terms(
            session,
            grant,
            party="assignee",
            organisation=applicant_org,
            account=application.applicant,
            at=at,
            audit_event=event.id,
        )
        _tell_applicant(session, application, "grant.issued", f"approved: grant {grant.id} is active")
    return grant


def _application_org(session: Session, application: Application) -> str:
    return org_codes(session, application.applicant_org_id)[application.applicant_org_id]


def _tell_applicant(session: Session, application: Application, kind: str, words: str) -> None:
    notify(
        session,
        kind=kind,
        target=f"application:{application.id}",
        message=f"application {application.id}: {words}",
        org_id=application.applicant_org_id,
        detail={"application": application.id, "grant": application.grant_id},
    )


def _tell(session: Session, org_id: int, grant: Grant, kind: str, message: str) -> None:
    notify(session, kind=kind, target=f"grant:{grant.id}", message=message, org_id=org_id, detail={"grant": grant.id})


def _application_public(
    session: Session, application: Application, resource: Resource, *, history: bool = False
) -> ApplicationPublic:
    codes = org_codes(session, application.applicant_org_id, application.provider_org_id)
    terms = Terms.model_validate_json(application.terms_json) if application.terms_json else None
    events = history_of(session, ("application", application.id), ("grant", application.grant_id)) if history else []
    narrowed = False
    if terms is not None:
        narrowed = _narrowed(application, terms, serving_description(session, resource))
    return ApplicationPublic(
        id=application.id,
        batch=application.batch,
        resource=resource.code,
        resource_title=resource.title_zh,
        grade=resource.grade,
        applicant_org=codes[application.applicant_org_id],
        provider_org=codes[application.provider_org_id],
        applicant=application.applicant,
        fields=json.loads(application.fields_json),
        row_filter=application.row_filter,
        unmasked=json.loads(application.unmasked_json),
        purpose=application.purpose,
        legal_basis=application.legal_basis,
        valid_from=application.valid_from,
        valid_until=application.valid_until,
        quota=application.quota,
        delivery=[Delivery(d) for d in json.loads(application.delivery_json)],
        status=application.status,
        round=application.round,
        deadline=deadline_view(
            session,
            application.deadline_at,
            application.deadline_exact,
            open_=application.status in WAITING_FOR_PROVIDER,
        ),
        escalated_at=application.escalated_at,
        terms=terms,
        narrowed=narrowed,
        answered_by=application.answered_by,
        answered_at=application.answered_at,
        reason=application.reason,
        countersigned_by=application.countersigned_by,
        countersigned_at=application.countersigned_at,
        grant=application.grant_id,
        created_at=application.created_at,
        history=events,
    )


__all__ = ["FieldSpec"]
