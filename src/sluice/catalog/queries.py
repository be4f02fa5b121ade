"""Questions about the catalog that several use cases (and other domains) ask."""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import Literal

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import Session, lazyload

from sluice.catalog.models import DataElement, Resource, ResourceField, ResourceRevision
from sluice.catalog.schemas import ResourceDescription, ReuseHint
from sluice.catalog.standards import Validator, builtin_validators, code_list_validator, pattern_validator
from sluice.catalog.vocab import Grade, OpenType, SharingType
from sluice.db.session import settings_of
from sluice.errors import NotFound
from sluice.identity.actor import Actor
from sluice.identity.roles import OrgKind, Role

PUBLIC_OPEN_TYPES = (OpenType.OPEN.value, OpenType.CONDITIONAL.value)


Visibility = Literal["all", "department", "public"]


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """Which resources an actor may see: published ones (only open ones for the public and enterprises)
    and, always, its own organisation's."""
    own = Resource.org_id == actor.org_id if actor.org_id is not None else false()
    return _visible(_visibility(actor), own)


def visible_named(session: Session, actor: Actor, codes: Collection[str]) -> dict[str, Resource]:
    """The resources named ``codes`` that ``actor`` may see, by code: rows alone, without their tags and
    formats, in one read whose statement is built once per kind of actor (the gateway asks at every call)."""
    rows = session.scalars(
        _visible_named(_visibility(actor)),
        {"codes": sorted(codes), "org_id": actor.org_id if actor.org_id is not None else -1},  # ids are > 0
    ).all()
    return {resource.code: resource for resource in rows}


def _visibility(actor: Actor) -> Visibility:
    if actor.is_system or actor.has(Role.MANAGER):
        return "all"
    if actor.org_kind in (OrgKind.DEPARTMENT, OrgKind.PLATFORM):
        return "department"
    return "public"


def _visible(visibility: Visibility, own: ColumnElement[bool]) -> ColumnElement[bool]:
    if visibility == "all":
        return true()
    if visibility == "department":
        return or_(Resource.visible, own)
    return or_(and_(Resource.visible, Resource.open_type.in_(PUBLIC_OPEN_TYPES)), own)


@functools.cache
def _visible_named(visibility: Visibility) -> Select[Resource]:
    return (
        select(Resource)
        .where(
            Resource.code.in_(bindparam("codes", expanding=True)),
            _visible(visibility, Resource.org_id == bindparam("org_id")),
        )
        .options(lazyload(Resource.tags), lazyload(Resource.formats))
        .execution_options(populate_existing=True)  # rows as they are now, even if the session holds older ones
    )


def find_resource(session: Session, code: str) -> Resource:
    """The resource with this code, visible or not (callers check what the actor may do with it)."""
    resource = session.scalars(select(Resource).where(Resource.code == code)).one_or_none()
    if resource is None:
        raise NotFound(f"no resource {code!r}", resource=code)
    return resource


def current_description(session: Session, resource: Resource) -> ResourceDescription:
    """The description data is checked and served against: the published revision, or before any
    publication the working one."""
    number = resource.published_revision or resource.latest_revision
    revision = session.scalars(
        select(ResourceRevision)
        .where(ResourceRevision.resource_id == resource.id, ResourceRevision.number == number)
        .execution_options(populate_existing=True)
    ).one()
    return ResourceDescription.model_validate_json(revision.description)


_PUBLISHED: OrderedDict[tuple[str, int, int], ResourceDescription] = OrderedDict()
_PUBLISHED_LOCK = threading.Lock()


def serving_description(session: Session, resource: Resource) -> ResourceDescription:
    """``current_description`` for every governed query: a published revision never changes (edits make a new
    one), so its parsed description is kept per process; a working revision is read each time. Read-only."""
    if resource.published_revision is None:
        return current_description(session, resource)
    key = (settings_of(session).metadata_url, resource.id, resource.published_revision)
    with _PUBLISHED_LOCK:
        found = _PUBLISHED.get(key)
    if found is None:
        found = current_description(session, resource)
        with _PUBLISHED_LOCK:
            _PUBLISHED[key] = found
            if len(_PUBLISHED) > 1024:
                _PUBLISHED.popitem(last=False)
    return found


def element_validator(element: DataElement) -> Validator:
    """The validator behind a data element (ingestion applies it as vectorised SQL)."""
    if element.kind == "builtin" and element.validator:
        return builtin_validators()[element.validator]
    if element.kind == "pattern" and element.pattern is not None:
        return pattern_validator(element.code, element.pattern)
    return code_list_validator(element.code, json.loads(element.codes or "[]"))


def reuse_hints(
    session: Session, actor: Actor, org_id: int, description: ResourceDescription, limit: int = 5
) -> list[ReuseHint]:
    """Published, shared resources of other organisations that hold the data elements ``description`` would
    collect (at least two of them, or its only one): what the department could apply for instead of collecting
    the data again from citizens and firms."""
    elements = {f.data_element for f in description.fields if f.data_element}
    if not elements:
        return []
    rows = session.execute(
        select(Resource, ResourceField.data_element)
        .join(ResourceField, ResourceField.resource_id == Resource.id)
        .where(
            ResourceField.data_element.in_(sorted(elements)),
            Resource.visible,
            visible_to(actor),
            Resource.org_id != org_id,
            Resource.sharing_type != SharingType.NOT_SHARED.value,
            Resource.grade != Grade.CORE.value,  # never granted outside its department: nothing to apply for
        )
    ).all()
    shared: dict[str, tuple[Resource, set[str]]] = {}
    for resource, element in rows:
        if element:
            shared.setdefault(resource.code, (resource, set()))[1].add(element)
    needed = min(2, len(elements))
    hints = [
        ReuseHint(
            resource=resource.code,
            title_zh=resource.title_zh,
            title_en=resource.title_en,
            organisation=resource.organisation.code,
            sharing_type=SharingType(resource.sharing_type),
            data_elements=sorted(found),
        )
        for resource, found in shared.values()
        if len(found) >= needed
    ]
    return sorted(hints, key=lambda h: (-len(h.data_elements), h.resource))[:limit]
