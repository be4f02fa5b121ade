"""Questions about the catalog that several use cases (and other domains) ask."""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, and_, false, or_, true

from sluice.catalog.models import DataElement, Resource
from sluice.catalog.standards import Validator, builtin_validators, code_list_validator, pattern_validator
from sluice.catalog.vocab import OpenType
from sluice.identity.actor import Actor
from sluice.identity.roles import OrgKind, Role

PUBLIC_OPEN_TYPES = (OpenType.OPEN.value, OpenType.CONDITIONAL.value)


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """Which resources an actor may see: published ones (only open ones for the public and enterprises)
    and, always, its own organisation's."""
    if actor.is_system or actor.has(Role.MANAGER):
        return true()
    own = Resource.org_id == actor.org_id if actor.org_id is not None else false()
    if actor.org_kind in (OrgKind.DEPARTMENT, OrgKind.PLATFORM):
        return or_(Resource.visible, own)
    return or_(and_(Resource.visible, Resource.open_type.in_(PUBLIC_OPEN_TYPES)), own)


def element_validator(element: DataElement) -> Validator:
    """The validator behind a data element (ingestion applies it as vectorised SQL)."""
    if element.kind == "builtin" and element.validator:
        return builtin_validators()[element.validator]
    if element.kind == "pattern" and element.pattern is not None:
        return pattern_validator(element.code, element.pattern)
    return code_list_validator(element.code, json.loads(element.codes or "[]"))
