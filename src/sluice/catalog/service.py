"""Use cases of the catalog: register, edit, submit and review resources; find them; the data standards."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog import finder
from sluice.catalog import permissions as can
from sluice.catalog.indexing import card_values, search_words
from sluice.catalog.models import (
    DataElement,
    Resource,
    ResourceField,
    ResourceFormat,
    ResourceRevision,
    ResourceSearch,
    ResourceTag,
)
from sluice.catalog.queries import element_validator, find_resource, reuse_hints, visible_to
from sluice.catalog.rules import check_description, classification_changes, needs_two_people
from sluice.catalog.schemas import (
    DataElementCreate,
    DataElementPublic,
    FacetValue,
    ResourceCreate,
    ResourceDescription,
    ResourcePublic,
    ResourceSummary,
    ReviewDecision,
    RevisionPublic,
    SearchQuery,
    SearchResult,
    UseCounts,
)
from sluice.catalog.standards import builtin_validators, check_pattern
from sluice.catalog.vocab import Format, RevisionStatus
from sluice.db.errors import unique
from sluice.db.session import now
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation
from sluice.identity.permissions import in_person
from sluice.identity.queries import find_organisation
from sluice.inbox.post import notify
from sluice.usecase import use_case

EDITABLE = {RevisionStatus.DRAFT.value, RevisionStatus.RETURNED.value}


# --- registering and reviewing -------------------------------------------------------------------------


@use_case(can.can_register)
def register_resource(session: Session, actor: Actor, *, data: ResourceCreate) -> ResourcePublic:
    """Register a resource in the provider's organisation, as a draft (revision 1)."""
    description = ResourceDescription.model_validate(data.model_dump(exclude={"code"}))
    check_description(description, _element_codes(session))
    org = find_organisation(session, data.code.split(".", 1)[0])
    at = now(session)
    with unique(
        session, Resource.code, data.code, Conflict(f"a resource with code {data.code!r} already exists", field="code")
    ):
        resource = Resource(
            code=data.code,
            org_id=org.id,
            organisation=org,
            created_at=at,
            updated_at=at,
            latest_revision=1,
            visible=False,
            use_count=0,
            download_count=0,
            view_count=0,
            **card_values(description, RevisionStatus.DRAFT),
        )
        session.add(resource)
        session.flush()
        session.add(_revision(resource, 1, description, actor, at))
    _index(session, resource, description)
    hints = reuse_hints(session, actor, org.id, description)
    record(
        session,
        actor,
        "resource.register",
        f"resource:{data.code}",
        revision=1,
        could_apply_for=[h.resource for h in hints],
    )
    if hints:
        notify(
            session,
            kind="resource.recollection",
            target=f"resource:{data.code}",
            message=f"{data.code} would collect data already shared by other departments: apply for "
            f"{', '.join(h.resource for h in hints)} instead of collecting it again",
            org_id=org.id,
            detail={"resources": [h.resource for h in hints]},
        )
    return _public(session, resource).model_copy(update={"could_apply_for": hints})


@use_case(can.can_edit)
def update_resource(session: Session, actor: Actor, *, code: str, data: ResourceDescription) -> ResourcePublic:
    """Change a resource's description. A published resource gets a new revision, reviewed again; until it
    is published the old one stays visible."""
    check_description(data, _element_codes(session))
    resource = find_resource(session, code)
    latest = _revision_of(session, resource, resource.latest_revision)
    at = now(session)
    if latest.status == RevisionStatus.SUBMITTED.value:
        raise Conflict(
            f"revision {latest.number} of {code} is under review; wait for the manager's decision before editing",
            status=latest.status,
        )
    if latest.status in EDITABLE:
        latest.description = data.model_dump_json()
        latest.status = RevisionStatus.DRAFT.value
        number = latest.number
    else:
        number = resource.latest_revision + 1
        session.add(_revision(resource, number, data, actor, at))
        resource.latest_revision = number
    resource.updated_at = at
    if not resource.visible:
        _set_card(session, resource, data, RevisionStatus.DRAFT)
    record(session, actor, "resource.update", f"resource:{code}", revision=number)
    return _public(session, resource).model_copy(
        update={"could_apply_for": reuse_hints(session, actor, resource.org_id, data)}
    )


@use_case(can.can_submit)
def submit_resource(session: Session, actor: Actor, *, code: str) -> ResourcePublic:
    """Send the working revision to the manager for review."""
    resource = find_resource(session, code)
    latest = _revision_of(session, resource, resource.latest_revision)
    if latest.status not in EDITABLE:
        raise Conflict(
            f"{code} has nothing to submit: revision {latest.number} is {latest.status}; edit it first",
            status=latest.status,
        )
    latest.status = RevisionStatus.SUBMITTED.value
    latest.submitted_at = now(session)
    if not resource.visible:
        resource.status = RevisionStatus.SUBMITTED.value
    record(session, actor, "resource.submit", f"resource:{code}", revision=latest.number)
    return _public(session, resource)


@use_case(can.can_review)
def review_resource(session: Session, actor: Actor, *, code: str, decision: ReviewDecision) -> ResourcePublic:
    """The manager publishes the submitted revision, or returns it with a comment."""
    resource = find_resource(session, code)
    latest = _revision_of(session, resource, resource.latest_revision)
    if latest.status != RevisionStatus.SUBMITTED.value:
        raise Conflict(f"{code} has no revision waiting for review (revision {latest.number} is {latest.status})")
    if decision.decision == "return" and not decision.comment.strip():
        raise Invalid("returning a revision needs a comment telling the provider what to change", field="comment")
    if decision.decision == "publish":
        _two_people_for_classification(session, actor, resource, latest)
    at = now(session)
    latest.reviewed_by, latest.reviewed_at, latest.review_comment = actor.username, at, decision.comment or None
    if decision.decision == "return":
        latest.status = RevisionStatus.RETURNED.value
        if not resource.visible:
            resource.status = RevisionStatus.RETURNED.value
    else:
        _publish(session, resource, latest, at)
    record(
        session,
        actor,
        f"resource.{decision.decision}",
        f"resource:{code}",
        revision=latest.number,
        comment=decision.comment,
    )
    return _public(session, resource)


def _two_people_for_classification(
    session: Session, actor: Actor, resource: Resource, revision: ResourceRevision
) -> None:
    """The revision's provider and a manager who is not that person (never the shell alone)."""
    after = ResourceDescription.model_validate_json(revision.description)
    before = None
    if resource.published_revision is not None:
        before = ResourceDescription.model_validate_json(
            _revision_of(session, resource, resource.published_revision).description
        )
    if not needs_two_people(before, after):
        return
    changed = classification_changes(before, after)
    what = (
        ", ".join(f"{name} {getattr(before, name).value} → {getattr(after, name).value}" for name in changed)
        or f"grade {after.grade.value}"
    )
    in_person(actor, f"publishing {resource.code} ({what})")
    if not actor.is_user or actor.username == revision.created_by:
        raise Forbidden(
            f"publishing {resource.code} ({what}) takes two people: its provider's revision, and a manager's "
            "review by another account",
            rule="two_person",
            changed=changed,
        )


def _publish(session: Session, resource: Resource, revision: ResourceRevision, at: datetime) -> None:
    if resource.published_revision is not None:
        _revision_of(session, resource, resource.published_revision).status = RevisionStatus.SUPERSEDED.value
    revision.status = RevisionStatus.PUBLISHED.value
    resource.published_revision = revision.number
    resource.published_at = revision.reviewed_at
    if resource.visible:  # the card showed the previous publication: show this one
        _set_card(
            session, resource, ResourceDescription.model_validate_json(revision.description), RevisionStatus.PUBLISHED
        )
    else:  # the card already showed this working revision
        resource.status = RevisionStatus.PUBLISHED.value
        resource.visible = True


# --- reading -------------------------------------------------------------------------------------------


@use_case(can.can_read_catalog)
def count_view(session: Session, actor: Actor, *, code: str) -> None:
    """One more view of a published dataset's page, unless its own department is looking."""
    session.execute(
        update(Resource)
        .where(Resource.code == code, Resource.visible, visible_to(actor), Resource.org_id != (actor.org_id or -1))
        .values(view_count=Resource.view_count + 1)
    )


@use_case(can.can_read_catalog)
def get_resource(session: Session, actor: Actor, *, code: str) -> ResourcePublic:
    """A resource as the caller may see it (published; or, for its provider, also unpublished)."""
    resource = find_resource(session, code)
    if not session.scalar(select(visible_to(actor)).where(Resource.id == resource.id)):
        raise NotFound(f"no resource {code!r} that you may see", resource=code)
    return _public(session, resource)


@use_case(can.can_read_catalog)
def get_resources(session: Session, actor: Actor, *, codes: list[str]) -> list[ResourcePublic]:
    """Several resources at once, in the order asked; those the caller may not see (or that do not exist) are
    left out. For catalog pages and harvesters: two queries, however many codes."""
    rows = session.scalars(select(Resource).where(Resource.code.in_(codes), visible_to(actor))).all()
    wanted = {(r.id, r.published_revision or r.latest_revision): r for r in rows}
    if not wanted:
        return []
    revisions = session.scalars(
        select(ResourceRevision).where(tuple_(ResourceRevision.resource_id, ResourceRevision.number).in_(list(wanted)))
    )
    shown = (_public_of(wanted[(v.resource_id, v.number)], v) for v in revisions)
    by_code = {public.code: public for public in shown}
    return [by_code[code] for code in codes if code in by_code]


@use_case(can.can_read_catalog)
def list_tags(session: Session, actor: Actor) -> list[FacetValue]:
    """Every topic tag of the published resources the caller may see, with how many carry it."""
    rows = session.execute(
        select(ResourceTag.tag, func.count())
        .join(Resource, Resource.id == ResourceTag.resource_id)
        .where(visible_to(actor), Resource.visible)
        .group_by(ResourceTag.tag)
        .order_by(ResourceTag.tag)
    )
    return [FacetValue(value=tag, count=count) for tag, count in rows]


@use_case(can.can_read_history)
def list_revisions(session: Session, actor: Actor, *, code: str) -> list[RevisionPublic]:
    """Every revision of a resource's description, newest first: the catalog's history."""
    resource = find_resource(session, code)
    rows = session.scalars(
        select(ResourceRevision)
        .where(ResourceRevision.resource_id == resource.id)
        .order_by(ResourceRevision.number.desc())
    )
    return [_revision_public(r) for r in rows]


@use_case(can.can_see_review_queue)
def list_review_queue(session: Session, actor: Actor) -> list[ResourceSummary]:
    """Resources with a revision waiting for the manager, oldest submission first."""
    rows = session.execute(
        select(Resource)
        .join(
            ResourceRevision,
            and_(ResourceRevision.resource_id == Resource.id, ResourceRevision.number == Resource.latest_revision),
        )
        .where(ResourceRevision.status == RevisionStatus.SUBMITTED.value)
        .order_by(ResourceRevision.submitted_at)
    ).scalars()
    return [_summary(r) for r in rows]


@use_case(can.can_search)
def search_resources(session: Session, actor: Actor, *, query: SearchQuery) -> SearchResult:
    """Find resources by words (zh/en) and filters, with facet counts; only what the caller may see."""
    found = finder.find(session, actor, query)
    next_offset = query.offset + query.limit
    return SearchResult(
        count=found.count,
        items=_summaries(session, found.page),
        facets=found.facets,
        next=str(next_offset) if next_offset < found.count and query.limit else None,
    )


# --- data standards ------------------------------------------------------------------------------------


@use_case(can.can_read_catalog)
def list_data_elements(session: Session, actor: Actor) -> list[DataElementPublic]:
    """The data element library (数据元): every standard fields can conform to, with its rule as SQL."""
    return [_element_public(e) for e in session.scalars(select(DataElement).order_by(DataElement.code))]


@use_case(can.can_read_catalog)
def get_data_element(session: Session, actor: Actor, *, code: str) -> DataElementPublic:
    """One data element."""
    element = session.scalars(select(DataElement).where(DataElement.code == code)).one_or_none()
    if element is None:
        raise NotFound(f"no data element {code!r}", data_element=code)
    return _element_public(element)


@use_case(can.can_define_element)
def create_data_element(session: Session, actor: Actor, *, data: DataElementCreate) -> DataElementPublic:
    """Add a standard: a regular expression, a code list, or one of the built-in validators under a new name."""
    if data.validator is not None and data.validator not in builtin_validators():
        raise Invalid(
            f"no built-in validator {data.validator!r}; built-in validators are: {', '.join(sorted(builtin_validators()))}",
            field="validator",
        )
    if data.pattern is not None:
        check_pattern(data.pattern)
    kind = "builtin" if data.validator else "pattern" if data.pattern is not None else "code_list"
    with unique(
        session, DataElement.code, data.code, Conflict(f"a data element {data.code!r} already exists", field="code")
    ):
        element = DataElement(
            code=data.code,
            name_zh=data.name_zh,
            name_en=data.name_en,
            standard=data.standard,
            description=data.description,
            kind=kind,
            validator=data.validator,
            pattern=data.pattern,
            codes=json.dumps(data.codes, ensure_ascii=False) if data.codes is not None else None,
            created_at=now(session),
            created_by=actor.username,
        )
        session.add(element)
    record(session, actor, "data_element.create", f"data_element:{data.code}", kind=kind)
    return _element_public(element)


# --- helpers -------------------------------------------------------------------------------------------


def _revision_of(session: Session, resource: Resource, number: int) -> ResourceRevision:
    return session.scalars(
        select(ResourceRevision).where(ResourceRevision.resource_id == resource.id, ResourceRevision.number == number)
    ).one()


def _revision(
    resource: Resource, number: int, data: ResourceDescription, actor: Actor, at: datetime
) -> ResourceRevision:
    return ResourceRevision(
        resource_id=resource.id,
        number=number,
        status=RevisionStatus.DRAFT.value,
        description=data.model_dump_json(),
        created_by=actor.username,
        created_at=at,
    )


def _element_codes(session: Session) -> set[str]:
    return set(session.scalars(select(DataElement.code)))


def _set_card(session: Session, resource: Resource, description: ResourceDescription, status: RevisionStatus) -> None:
    for name, value in card_values(description, status).items():
        setattr(resource, name, value)
    _index(session, resource, description)


def _index(session: Session, resource: Resource, description: ResourceDescription) -> None:
    """Refresh what search, facets and cross-resource questions read for this resource."""
    resource.tags = [ResourceTag(tag=t) for t in description.tags]
    resource.formats = [ResourceFormat(format=f.value) for f in description.formats]
    session.execute(delete(ResourceField).where(ResourceField.resource_id == resource.id))
    session.add_all(
        ResourceField(resource_id=resource.id, position=i, name=f.name, data_element=f.data_element)
        for i, f in enumerate(description.fields)
    )
    words = ResourceSearch(resource_id=resource.id, **search_words(resource.code, resource.organisation, description))
    session.merge(words)
    session.flush()


def _public(session: Session, resource: Resource) -> ResourcePublic:
    revision = _revision_of(session, resource, resource.published_revision or resource.latest_revision)
    return _public_of(resource, revision)


def _public_of(resource: Resource, revision: ResourceRevision) -> ResourcePublic:
    number = revision.number
    description = ResourceDescription.model_validate_json(revision.description)
    pending = resource.latest_revision if resource.latest_revision != number else None
    return ResourcePublic(
        **description.model_dump(),
        code=resource.code,
        organisation=resource.organisation.code,
        organisation_name_zh=resource.organisation.name_zh,
        organisation_name_en=resource.organisation.name_en,
        revision=number,
        status=RevisionStatus(revision.status),
        created_at=resource.created_at,
        published_at=resource.published_at,
        updated_at=resource.updated_at,
        pending_revision=pending,
        counts=UseCounts(
            views=resource.view_count,
            downloads=resource.download_count,
            calls=resource.use_count - resource.download_count,
        ),
    )


def _summary(resource: Resource) -> ResourceSummary:
    tags, formats = [t.tag for t in resource.tags], [f.format for f in resource.formats]
    return _card(resource, resource.organisation.code, tags, formats)


CARD_COLUMNS = (
    Resource.id,
    Resource.code,
    Resource.title_zh,
    Resource.title_en,
    Resource.category,
    Resource.sharing_type,
    Resource.open_type,
    Resource.grade,
    Resource.status,
    Resource.published_at,
    Resource.use_count,
    Organisation.code.label("organisation"),
)


def _summaries(session: Session, ids: list[int]) -> list[ResourceSummary]:
    """The summaries of some resources, in the order given: three plain queries, no ORM objects (for a
    search page, building twenty Resource objects with their tags, formats and organisation cost more
    than the search itself)."""
    if not ids:
        return []
    connection = session.connection()
    cards = connection.execute(
        select(*CARD_COLUMNS).join(Organisation, Organisation.id == Resource.org_id).where(Resource.id.in_(ids))
    )
    tags: dict[int, list[str]] = defaultdict(list)
    for resource_id, tag in connection.execute(
        select(ResourceTag.resource_id, ResourceTag.tag).where(ResourceTag.resource_id.in_(ids))
    ):
        tags[resource_id].append(tag)
    formats: dict[int, list[str]] = defaultdict(list)
    for resource_id, format_ in connection.execute(
        select(ResourceFormat.resource_id, ResourceFormat.format).where(ResourceFormat.resource_id.in_(ids))
    ):
        formats[resource_id].append(format_)
    by_id = {c.id: _card(c, c.organisation, tags[c.id], formats[c.id]) for c in cards}
    return [by_id[i] for i in ids]


def _card(
    card: Resource | Row[*tuple[Any, ...]], organisation: str, tags: list[str], formats: list[str]
) -> ResourceSummary:
    return ResourceSummary(
        code=card.code,
        title_zh=card.title_zh,
        title_en=card.title_en,
        organisation=organisation,
        category=card.category,
        sharing_type=card.sharing_type,
        open_type=card.open_type,
        grade=card.grade,
        tags=tags,
        formats=[Format(f) for f in formats],
        status=RevisionStatus(card.status),
        published_at=card.published_at,
        use_count=card.use_count,
    )


def _revision_public(revision: ResourceRevision) -> RevisionPublic:
    return RevisionPublic(
        number=revision.number,
        status=RevisionStatus(revision.status),
        description=ResourceDescription.model_validate_json(revision.description),
        created_by=revision.created_by,
        created_at=revision.created_at,
        submitted_at=revision.submitted_at,
        reviewed_by=revision.reviewed_by,
        reviewed_at=revision.reviewed_at,
        review_comment=revision.review_comment,
    )


def _element_public(element: DataElement) -> DataElementPublic:
    codes = json.loads(element.codes) if element.codes else None
    return DataElementPublic(
        code=element.code,
        name_zh=element.name_zh,
        name_en=element.name_en,
        standard=element.standard,
        description=element.description,
        kind=element.kind,
        pattern=element.pattern,
        codes_count=len(codes) if codes is not None else None,
        validator=element.validator,
        sql=_sql_preview(element),
    )


def _sql_preview(element: DataElement) -> str:
    """The rule as SQL, with long code lists abbreviated (the GB/T 2260 list has thousands of codes)."""
    validator = element_validator(element)
    if validator.codes is not None and validator.codes > 20:
        return f"COALESCE(value IN (<the {validator.codes} codes of {element.standard or element.code}>), FALSE)"
    return validator.sql_text()
