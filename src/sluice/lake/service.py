"""Use cases of the lake: open and close a version around the pipeline, read versions, decide flagged
personal data, recover from interrupted ingestions and prune expired versions.

An ingestion spans three short transactions (``lake/ingestion.py`` drives them): ``open_version`` records a
*processing* version and fixes the plan; the pipeline runs with no transaction open; ``close_version``
publishes, holds or rejects it (or ``fail_version`` records why it failed). No reader ever sees a version
before ``close_version`` commits it as published.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog.models import DataElement, Resource
from sluice.catalog.queries import current_description, element_validator, find_resource, visible_to
from sluice.catalog.schemas import ResourceDescription
from sluice.catalog.standards import Validator
from sluice.catalog.vocab import OpenType
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Invalid, NotFound
from sluice.identity.actor import Actor
from sluice.identity.roles import Role
from sluice.inbox.post import notify
from sluice.lake import permissions as can
from sluice.lake.classify import SUGGESTED
from sluice.lake.models import Version
from sluice.lake.pipeline import Outcome, Plan
from sluice.lake.queries import data_file, serving_version
from sluice.lake.schemas import (
    IngestionJob,
    IngestOptions,
    Mode,
    OnError,
    PiiDecision,
    PiiFlag,
    Profile,
    ValidationReport,
    VersionPublic,
    VersionStatus,
)
from sluice.lake.storage import remove_folder
from sluice.pagination import Page, check_limit, decode_cursor, keyset_page
from sluice.usecase import use_case

ENGINE_FAILURE = "failed: "  # how an engine's own error is recorded; its text may quote the file's values
STALE_AFTER = timedelta(hours=6)  # a processing version this old was interrupted (the process died)


@dataclass(frozen=True)
class Ticket:
    """An ingestion in progress: which version it will be, and the plan it follows."""

    code: str
    version_id: int
    number: int
    token: str
    plan: Plan


# --- ingesting -----------------------------------------------------------------------------------------


@use_case(can.can_ingest)
def open_version(session: Session, actor: Actor, *, code: str, options: IngestOptions, source_name: str) -> Ticket:
    """Record a new version as processing, and fix what the pipeline will check it against."""
    resource = find_resource(session, code)
    description = current_description(session, resource)
    base = serving_version(session, resource.id) if options.mode is not Mode.REPLACE else None
    settings = settings_of(session)
    number = (session.scalar(select(func.max(Version.number)).where(Version.resource_id == resource.id)) or 0) + 1
    version = Version(
        resource_id=resource.id,
        number=number,
        status=VersionStatus.PROCESSING.value,
        mode=options.mode.value,
        on_error=options.on_error.value,
        source_name=source_name[:300],
        base_version=base.number if base else None,
        created_by=actor.username,
        created_at=now(session),
    )
    session.add(version)
    try:
        session.flush()
    except Exception as exc:  # a concurrent ingestion took the number: the caller may retry at once
        raise Conflict(f"another version of {code} is being opened right now; try again", resource=code) from exc
    plan = Plan(
        code=code,
        number=number,
        fields=list(description.fields),
        validators=_validators(session, description),
        options=options,
        base=data_file(settings.lake_dir, base) if base else None,
        base_number=base.number if base else None,
        base_schema=json.loads(base.schema_json) if base and base.schema_json else None,
    )
    record(session, actor, "version.open", f"resource:{code}", version=number, mode=options.mode.value)
    return Ticket(code=code, version_id=version.id, number=number, token=uuid.uuid4().hex, plan=plan)


@use_case(can.can_continue)
def close_version(
    session: Session, actor: Actor, *, ticket: Ticket, outcome: Outcome, path: str | None
) -> VersionPublic:
    """Record the pipeline's result: rejected, held for a decision on personal data, or published."""
    version = _version_by_id(session, ticket.version_id)
    resource = find_resource(session, ticket.code)
    at = now(session)
    version.finished_at = at
    version.report_json = outcome.report.model_dump_json()
    version.schema_json = json.dumps(outcome.schema)
    version.pii_json = json.dumps([flag.model_dump() for flag in outcome.pii], ensure_ascii=False)
    if outcome.rejected:
        version.status = VersionStatus.REJECTED.value
        record(
            session,
            actor,
            "version.reject",
            f"resource:{ticket.code}",
            version=version.number,
            rows_read=outcome.report.rows_read,
            rules=[r.rule for r in outcome.report.rules],
        )
        return _public(session, resource, version, full=True)
    if ticket.plan.options.mode is not Mode.REPLACE:
        current = serving_version(session, resource.id)
        if current is None or current.number != ticket.plan.base_number:
            raise Conflict(
                f"version {current.number if current else 'none'} of {ticket.code} was published while this "
                f"{ticket.plan.options.mode.value} was running on version {ticket.plan.base_number}; upload again",
                resource=ticket.code,
            )
    version.path = path
    version.rows, version.byte_size, version.digest = outcome.rows, outcome.byte_size, outcome.digest
    version.profile_json = outcome.profile.model_dump_json() if outcome.profile else None
    if outcome.pii:
        version.status = VersionStatus.HELD.value
        _tell_about_flags(session, resource, version, outcome.pii)
        record(
            session,
            actor,
            "version.hold",
            f"resource:{ticket.code}",
            version=version.number,
            flagged=[f.field for f in outcome.pii],
        )
    else:
        _publish(session, resource, version)
        record(
            session,
            actor,
            "version.publish",
            f"resource:{ticket.code}",
            version=version.number,
            rows=version.rows,
            digest=version.digest,
        )
    return _public(session, resource, version, full=True)


@use_case(can.can_continue)
def fail_version(session: Session, actor: Actor, *, ticket: Ticket, error: str) -> None:
    version = _version_by_id(session, ticket.version_id)
    if version.status != VersionStatus.PROCESSING.value:
        return
    version.status = VersionStatus.FAILED.value
    version.error = error[:4000]
    version.finished_at = now(session)
    record(session, actor, "version.fail", f"resource:{ticket.code}", version=version.number, error=error[:500])


# --- reading -------------------------------------------------------------------------------------------


@use_case(can.can_read_versions)
def list_versions(session: Session, actor: Actor, *, code: str) -> list[VersionPublic]:
    """A resource's versions, newest first: all of them for its provider, the manager and the auditor; the
    published ones for anyone else who may see the resource."""
    resource = _visible_resource(session, actor, code)
    full = _sees_everything(actor, resource)
    query = select(Version).where(Version.resource_id == resource.id).order_by(Version.number.desc())
    if not full:
        query = query.where(Version.status.in_([VersionStatus.PUBLISHED.value]))
    return [_public(session, resource, v, full=full) for v in session.scalars(query)]


@use_case(can.can_read_versions)
def get_version(session: Session, actor: Actor, *, code: str, number: int) -> VersionPublic:
    resource = _visible_resource(session, actor, code)
    full = _sees_everything(actor, resource)
    version = session.scalars(
        select(Version).where(Version.resource_id == resource.id, Version.number == number)
    ).one_or_none()
    if version is None or not (full or version.status == VersionStatus.PUBLISHED.value):
        raise NotFound(f"{code} has no version {number} that you may see", resource=code, version=number)
    return _public(session, resource, version, full=full)


@use_case(can.can_see_held)
def list_held(session: Session, actor: Actor) -> list[VersionPublic]:
    """Versions waiting for a decision on flagged personal data: the manager's, or the caller's department's."""
    query = (
        select(Version, Resource)
        .join(Resource, Resource.id == Version.resource_id)
        .where(Version.status == VersionStatus.HELD.value)
    )
    if not (actor.is_system or actor.has(Role.MANAGER)):
        query = query.where(Resource.org_id == (actor.org_id if actor.org_id is not None else -1))
    return [_public(session, r, v, full=True) for v, r in session.execute(query.order_by(Version.id))]


@use_case(can.can_see_ingestions)
def list_ingestions(
    session: Session, actor: Actor, *, status: VersionStatus | None = None, limit: int = 50, cursor: str | None = None
) -> Page[IngestionJob]:
    """Every department's ingestions, newest first (optionally of one status): the operator's job list."""
    check_limit(limit, settings_of(session).page_size_max)
    query = select(Version, Resource.code).join(Resource, Resource.id == Version.resource_id)
    if status is not None:
        query = query.where(Version.status == status.value)
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(Version.id < before)
    rows = session.execute(query.order_by(Version.id.desc()).limit(limit + 1)).all()
    everything = actor.is_system or actor.has(Role.MANAGER) or actor.has(Role.AUDITOR)
    return keyset_page([_JobRow(v, c, everything) for v, c in rows], limit, _job)


@dataclass(frozen=True)
class _JobRow:
    version: Version
    code: str
    everything: bool  # the reader may see an engine's own error text (the operator may not: it can quote data)

    @property
    def id(self) -> int:
        return self.version.id


def _job(row: _JobRow) -> IngestionJob:
    version = row.version
    rejected = None
    if version.report_json:
        report = ValidationReport.model_validate_json(version.report_json)
        rejected = report.rows_read - report.rows_accepted
    return IngestionJob(
        id=version.id,
        resource=row.code,
        number=version.number,
        status=VersionStatus(version.status),
        mode=Mode(version.mode),
        source_name=version.source_name,
        rows=version.rows,
        rows_rejected=rejected,
        byte_size=version.byte_size,
        created_by=version.created_by,
        created_at=version.created_at,
        finished_at=version.finished_at,
        error=_error_for(version.error, everything=row.everything),
    )


def _error_for(error: str | None, *, everything: bool) -> str | None:
    if error is None or everything or not error.startswith(ENGINE_FAILURE):
        return error
    return "failed in the query engine (its message may quote the data: the department and the auditor see it)"


# --- deciding flagged personal data -------------------------------------------------------------------


@use_case(can.can_decide_pii)
def decide_pii(
    session: Session, actor: Actor, *, code: str, number: int, decisions: list[PiiDecision]
) -> VersionPublic:
    """Accept (it is personal: the gateway will treat it so) or dismiss (with a reason) each flag; when every
    flag is decided the version is published."""
    resource = find_resource(session, code)
    version = session.scalars(
        select(Version).where(Version.resource_id == resource.id, Version.number == number)
    ).one_or_none()
    if version is None:
        raise NotFound(f"{code} has no version {number}", resource=code, version=number)
    if version.status != VersionStatus.HELD.value:
        raise Conflict(
            f"version {number} of {code} is {version.status}, not held for a decision", status=version.status
        )
    if not decisions:
        raise Invalid("decide at least one flag: accept it (it is personal) or dismiss it with a reason")
    flags = [PiiFlag.model_validate(f) for f in json.loads(version.pii_json)]
    by_field = {f.field: f for f in flags}
    for decision in decisions:
        flag = by_field.get(decision.field)
        if flag is None:
            raise Invalid(f"field {decision.field!r} is not flagged in version {number}", field="field")
        if flag.decision is not None:
            raise Conflict(f"the flag on {decision.field} was already {flag.decision} by {flag.decided_by}")
        if decision.decision == "dismiss" and not decision.reason.strip():
            raise Invalid(f"dismissing the flag on {decision.field} needs a reason", field="reason")
        flag.decision = "accepted" if decision.decision == "accept" else "dismissed"
        flag.decided_by = actor.username
        flag.reason = decision.reason or None
    version.pii_json = json.dumps([f.model_dump() for f in flags], ensure_ascii=False)
    record(
        session,
        actor,
        "version.pii_decide",
        f"resource:{code}",
        version=number,
        decisions={d.field: d.decision for d in decisions},
    )
    accepted = [f for f in flags if f.decision == "accepted"]
    if accepted:
        notify(
            session,
            org_id=resource.org_id,
            kind="catalog.mark_personal",
            target=f"resource:{code}",
            message=f"Mark {', '.join(f.field for f in accepted)} of {code} as personal in the catalog "
            "(the gateway already treats them so).",
            detail={"fields": {f.field: SUGGESTED[f.kind].value for f in accepted}},
        )
    if all(f.decision is not None for f in flags):
        _publish(session, resource, version)
        record(
            session,
            actor,
            "version.publish",
            f"resource:{code}",
            version=number,
            rows=version.rows,
            digest=version.digest,
        )
    return _public(session, resource, version, full=True)


# --- keeping the lake tidy ----------------------------------------------------------------------------


@use_case(can.can_maintain_lake)
def recover_interrupted(session: Session, actor: Actor, *, everything: bool = False) -> list[str]:
    """Mark ingestions whose process died as failed and remove their staged work and unreferenced folders.

    Without ``everything``, only work untouched for ``STALE_AFTER`` counts as dead (an ingestion may be
    running in another process); with it — when the operator knows none runs — all of it does."""
    settings = settings_of(session)
    cutoff = now(session) - (timedelta(0) if everything else STALE_AFTER)
    query = select(Version).where(Version.status == VersionStatus.PROCESSING.value)
    if not everything:
        query = query.where(Version.created_at < cutoff)
    stale = session.scalars(query).all()
    for version in stale:
        version.status = VersionStatus.FAILED.value
        version.error = "interrupted: the ingestion did not finish (the process stopped); upload again"
        version.finished_at = now(session)
    in_use = {p for p in session.scalars(select(Version.path).where(Version.path.is_not(None))) if p is not None}
    removed = _sweep(settings.lake_dir, in_use, None if everything else STALE_AFTER)
    if stale or removed:
        record(session, actor, "lake.recover", "lake", failed=[v.number for v in stale], removed=removed)
    return removed


@use_case(can.can_maintain_lake)
def prune_versions(session: Session, actor: Actor) -> list[str]:
    """Remove the files of versions superseded longer ago than the retention period (the record stays)."""
    settings = settings_of(session)
    cutoff = now(session) - timedelta(days=settings.version_retention_days)
    expired = session.scalars(
        select(Version).where(
            Version.status == VersionStatus.PUBLISHED.value,
            Version.superseded_at.is_not(None),
            Version.superseded_at < cutoff,
        )
    ).all()
    pruned = []
    for version in expired:
        if version.path:
            remove_folder(settings.lake_dir / version.path)
        pruned.append(f"{version.resource_id}:{version.number}")
        version.status = VersionStatus.EXPIRED.value
    if pruned:
        record(session, actor, "lake.prune", "lake", versions=pruned)
    return pruned


# --- helpers -------------------------------------------------------------------------------------------


def _publish(session: Session, resource: Resource, version: Version) -> None:
    at = now(session)
    current = serving_version(session, resource.id)
    version.status = VersionStatus.PUBLISHED.value
    version.published_at = at
    if current is not None and current.number > version.number:
        version.superseded_at = at  # a newer version was published while this one was held
    elif current is not None:
        current.superseded_at = at


def _tell_about_flags(session: Session, resource: Resource, version: Version, flags: list[PiiFlag]) -> None:
    listed = ", ".join(f"{f.field} ({f.kind}, {f.share:.0%})" for f in flags)
    message = (
        f"Version {version.number} of {resource.code} is held: {listed} look like personal data but the catalog "
        "marks them as not personal. Accept or dismiss each flag to publish it."
    )
    detail: dict[str, object] = {"version": version.number, "fields": [f.field for f in flags]}
    notify(
        session,
        org_id=resource.org_id,
        kind="version.held",
        target=f"resource:{resource.code}",
        message=message,
        detail=detail,
    )
    notify(
        session,
        role=Role.MANAGER,
        kind="version.held",
        target=f"resource:{resource.code}",
        message=message,
        detail=detail,
    )


def _visible_resource(session: Session, actor: Actor, code: str) -> Resource:
    resource = session.scalars(select(Resource).where(Resource.code == code, visible_to(actor))).one_or_none()
    if resource is None:
        raise NotFound(f"no resource {code!r} that you may see", resource=code)
    return resource


def _sees_everything(actor: Actor, resource: Resource) -> bool:
    return (
        actor.is_system
        or actor.has(Role.MANAGER)
        or actor.has(Role.AUDITOR)
        or (actor.is_user and actor.org_id == resource.org_id)
    )


def _version_by_id(session: Session, version_id: int) -> Version:
    return session.get_one(Version, version_id)


def _validators(session: Session, description: ResourceDescription) -> dict[str, Validator]:
    codes = {f.data_element for f in description.fields if f.data_element}
    if not codes:
        return {}
    elements = {e.code: e for e in session.scalars(select(DataElement).where(DataElement.code.in_(codes)))}
    return {f.name: element_validator(elements[f.data_element]) for f in description.fields if f.data_element}


def _public(session: Session, resource: Resource, version: Version, *, full: bool) -> VersionPublic:
    serving = serving_version(session, resource.id)
    show_profile = full or resource.open_type != OpenType.NOT_OPEN.value
    return VersionPublic(
        resource=resource.code,
        number=version.number,
        status=VersionStatus(version.status),
        mode=Mode(version.mode),
        on_error=OnError(version.on_error),
        source_name=version.source_name if full else "",
        rows=version.rows,
        byte_size=version.byte_size,
        digest=version.digest,
        schema_=json.loads(version.schema_json) if version.schema_json else None,
        report=ValidationReport.model_validate_json(version.report_json) if full and version.report_json else None,
        profile=Profile.model_validate_json(version.profile_json) if show_profile and version.profile_json else None,
        pii=[PiiFlag.model_validate(f) for f in json.loads(version.pii_json)] if full else [],
        base_version=version.base_version,
        error=version.error if full else None,
        created_by=version.created_by if full else "",
        created_at=version.created_at,
        finished_at=version.finished_at,
        published_at=version.published_at,
        superseded_at=version.superseded_at,
        serving=serving is not None and serving.id == version.id,
    )


def _sweep(lake_dir: Path, in_use: set[str], grace: timedelta | None) -> list[str]:
    """Remove staging folders and version folders that no version row points at, and export files a crash
    left behind (and, given a grace period, only what nobody touched within it: it may belong to work still
    running)."""
    if not lake_dir.exists():
        return []
    newest = time.time() - grace.total_seconds() if grace is not None else None
    candidates = list((lake_dir / ".staging").glob("*")) + list(lake_dir.glob("[!.]*/*/v*"))
    removed: list[str] = []
    for folder in sorted(candidates):
        relative = folder.relative_to(lake_dir).as_posix()
        if not folder.is_dir() or relative in in_use:
            continue
        if newest is not None and folder.stat().st_mtime > newest:
            continue
        remove_folder(folder)
        removed.append(relative)
    for leftover in sorted((lake_dir / ".exports").glob("*")):  # the gateway's exports, left by a crash
        if leftover.is_file() and (newest is None or leftover.stat().st_mtime <= newest):
            leftover.unlink(missing_ok=True)
            removed.append(leftover.relative_to(lake_dir).as_posix())
    return removed
