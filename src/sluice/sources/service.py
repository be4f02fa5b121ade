"""Use cases of linked sources: link a resource to a table in its department's database, see and remove
the link. Checking a source (validation and profile, recorded as a version) is ``sources.checking``.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import current_description, find_resource
from sluice.db.session import now, settings_of
from sluice.errors import NotFound
from sluice.identity.actor import Actor
from sluice.identity.permissions import operator_only
from sluice.lake.columns import match_columns
from sluice.sources import permissions as can
from sluice.sources.connect import describe_table, parse_source_url, source_engine
from sluice.sources.models import LinkedSource
from sluice.sources.schemas import SourceLink, SourcePublic
from sluice.sources.secrets import add_key, reseal, seal
from sluice.usecase import use_case


@use_case(can.can_link)
def link_source(session: Session, actor: Actor, *, code: str, link: SourceLink) -> SourcePublic:
    """Point ``code`` at a table in the department's own database. The connection is tried, the table's
    columns matched to the catalog's fields (refused with the diff otherwise), and the URL stored encrypted."""
    settings = settings_of(session)
    resource = find_resource(session, code)
    url = parse_source_url(link.url.get_secret_value(), settings)
    engine = source_engine(url)
    try:
        table = describe_table(engine, link.table, link.schema_name)
    finally:
        engine.dispose()
    fields = list(current_description(session, resource).fields)
    columns = match_columns(table.columns, table.types, fields, link.mapping, code)
    at = now(session)
    source = session.scalars(select(LinkedSource).where(LinkedSource.resource_id == resource.id)).one_or_none()
    if source is None:
        source = LinkedSource(resource_id=resource.id, created_by=actor.username, created_at=at)
        session.add(source)
    source.dialect = url.get_backend_name()
    source.url_sealed = seal(settings.keys_dir, url.render_as_string(hide_password=False))
    source.url_shown = url.render_as_string(hide_password=True)
    source.schema_name = link.schema_name
    source.table_name = link.table
    source.columns_json = json.dumps(columns, ensure_ascii=False)
    source.updated_at = at
    session.flush()
    record(session, actor, "source.link", f"resource:{code}", url=source.url_shown, table=link.table)
    return _public(resource, source)


@use_case(can.can_see_source)
def get_source(session: Session, actor: Actor, *, code: str) -> SourcePublic:
    resource = find_resource(session, code)
    return _public(resource, _source(session, resource))


@use_case(can.can_link_existing)
def unlink_source(session: Session, actor: Actor, *, code: str) -> None:
    """Remove the link (the data stays where it always was; versions already checked stay recorded)."""
    resource = find_resource(session, code)
    source = _source(session, resource)
    session.delete(source)
    record(session, actor, "source.unlink", f"resource:{code}", url=source.url_shown)


@use_case(operator_only)
def rotate_source_key(session: Session, actor: Actor) -> int:
    """Encrypt every stored connection under a new key (old keys still decrypt until ``drop_old_keys`` runs
    after this transaction commits). Returns how many connections were re-encrypted."""
    keys_dir = settings_of(session).keys_dir
    add_key(keys_dir)
    sources = session.scalars(select(LinkedSource)).all()
    for source in sources:
        source.url_sealed = reseal(keys_dir, source.url_sealed)
    record(session, actor, "source.rotate_key", "keys:sources", resealed=len(sources))
    return len(sources)


def _source(session: Session, resource: Resource) -> LinkedSource:
    source = session.scalars(select(LinkedSource).where(LinkedSource.resource_id == resource.id)).one_or_none()
    if source is None:
        raise NotFound(f"{resource.code} is not linked to a source", resource=resource.code)
    return source


def _public(resource: Resource, source: LinkedSource) -> SourcePublic:
    return SourcePublic(
        resource=resource.code,
        dialect=source.dialect,
        url=source.url_shown,
        table=source.table_name,
        schema_name=source.schema_name,
        columns=json.loads(source.columns_json),
        created_by=source.created_by,
        created_at=source.created_at,
        updated_at=source.updated_at,
    )
