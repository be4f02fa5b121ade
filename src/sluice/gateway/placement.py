"""Where each resource is answered: its department's own database (a linked source), Spark (assigned by the
operator), or — by default — DuckDB over the lake's newest published version. The engine's rows are the
resource's fields by name, whatever the source calls its columns.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session
from sqlglot import exp

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import find_resource
from sluice.catalog.vocab import SQL_TYPES, FieldType
from sluice.db.session import now
from sluice.errors import Conflict, Invalid
from sluice.gateway.engines import EngineKind, LakeTable, Target
from sluice.gateway.models import ServingEngine
from sluice.identity.actor import Actor
from sluice.identity.permissions import operator_only
from sluice.lake.queries import data_file, serving_version
from sluice.sources.models import LinkedSource
from sluice.usecase import use_case

CAST_IN_SOURCE = {FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.TIMESTAMP}


class Assignable(StrEnum):
    """Engines the operator may assign a lake resource to."""

    DUCKDB = EngineKind.DUCKDB
    SPARK = EngineKind.SPARK


class EnginePublic(BaseModel):
    resource: str
    engine: str
    assigned_by: str | None
    assigned_at: datetime | None


@dataclass(frozen=True)
class Placement:
    relation: exp.Expr  # the resource's rows, columns named as its fields, in the engine's terms
    target: Target


def place(
    session: Session, resource: Resource, fields: dict[str, FieldType], lake_dir: Path, key: tuple[str, ...] = ()
) -> Placement:
    source, assigned = session.execute(_source_and_engine(), {"resource_id": resource.id}).one()
    if source is not None:
        return _linked(source, fields)
    version = serving_version(session, resource.id)
    if version is None:
        raise Conflict(f"{resource.code} has no published data yet", resource=resource.code)
    table = LakeTable(
        name=f"sluice_v{version.id}",
        path=str(data_file(lake_dir, version)),
        resource=resource.code,
        rows=version.rows or 0,
        key=key,
    )
    kind = EngineKind.SPARK if assigned == EngineKind.SPARK else EngineKind.DUCKDB
    return Placement(exp.Table(this=exp.to_identifier(table.name)), Target(kind, tables=(table,)))


@functools.cache
def _source_and_engine() -> Select[LinkedSource, str]:
    # Both in one read, built once: a query asks this at every call.
    return (
        select(LinkedSource, ServingEngine.engine)
        .select_from(Resource)
        .outerjoin(LinkedSource, LinkedSource.resource_id == Resource.id)
        .outerjoin(ServingEngine, ServingEngine.resource_id == Resource.id)
        .where(Resource.id == bindparam("resource_id"))
        .execution_options(populate_existing=True)  # kept decisions are built from rows as they are now
    )


def _linked(source: LinkedSource, fields: dict[str, FieldType]) -> Placement:
    """``(SELECT "column" AS "field", … FROM "schema"."table") AS sluice_source``; on PostgreSQL and MySQL,
    non-text fields are cast to the catalog's type (a date kept as text in the source is served as a date);
    strings are never cast, so the source's indexes still serve lookups."""
    target = Target(source.dialect, source_id=source.id, url_sealed=source.url_sealed)
    columns: list[exp.Expr] = []
    for column, name in json.loads(source.columns_json).items():
        if name is None or name not in fields:
            continue
        value: exp.Expr = exp.column(exp.to_identifier(column, quoted=True))
        if fields[name] in CAST_IN_SOURCE and source.dialect != EngineKind.SQLITE:
            value = exp.Cast(this=value, to=exp.DataType.build(SQL_TYPES[fields[name]], dialect="duckdb"))
        columns.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
    table = exp.Table(
        this=exp.to_identifier(source.table_name, quoted=True),
        db=exp.to_identifier(source.schema_name, quoted=True) if source.schema_name else None,
    )
    rows = exp.select(*columns).from_(table)
    return Placement(exp.Subquery(this=rows, alias=exp.TableAlias(this=exp.to_identifier("sluice_source"))), target)


@use_case(operator_only)
def assign_engine(session: Session, actor: Actor, *, code: str, engine: Assignable) -> EnginePublic:
    """Serve a lake resource from Spark (for data too big for one process) or back from DuckDB."""
    resource = find_resource(session, code)
    if session.scalar(select(LinkedSource.id).where(LinkedSource.resource_id == resource.id)) is not None:
        raise Invalid(f"{code} is answered by its department's own database; unlink it before assigning an engine")
    current = session.scalars(select(ServingEngine).where(ServingEngine.resource_id == resource.id)).one_or_none()
    at = now(session)
    if engine is Assignable.DUCKDB:
        if current is not None:
            session.delete(current)
    else:
        if current is None:
            current = ServingEngine(resource_id=resource.id)
            session.add(current)
        current.engine = engine.value
        current.assigned_by = actor.username
        current.assigned_at = at
    session.flush()
    record(session, actor, "engine.assign", f"resource:{code}", engine=engine.value)
    return EnginePublic(resource=code, engine=engine.value, assigned_by=actor.username, assigned_at=at)


@use_case(operator_only)
def list_engines(session: Session, actor: Actor) -> list[EnginePublic]:
    """Resources not answered by the lake's DuckDB: linked sources and the operator's assignments."""
    rows: list[EnginePublic] = []
    for source, code in session.execute(
        select(LinkedSource, Resource.code).join(Resource, Resource.id == LinkedSource.resource_id)
    ).all():
        rows.append(
            EnginePublic(
                resource=code, engine=source.dialect, assigned_by=source.created_by, assigned_at=source.updated_at
            )
        )
    for assigned, code in session.execute(
        select(ServingEngine, Resource.code).join(Resource, Resource.id == ServingEngine.resource_id)
    ).all():
        rows.append(
            EnginePublic(
                resource=code,
                engine=assigned.engine,
                assigned_by=assigned.assigned_by,
                assigned_at=assigned.assigned_at,
            )
        )
    return sorted(rows, key=lambda r: r.resource)
