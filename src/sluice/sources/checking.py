"""Checking a linked source: the same validation, classification and profile as an upload, run on the
table where it lives (copied as text into the ingestion's DuckDB, never into the lake), recorded as a
version with no files. The gateway (a later issue) sends queries to the source itself."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.engine import make_url

from sluice.catalog.models import Resource
from sluice.errors import NotFound, SluiceError
from sluice.identity.actor import Actor
from sluice.lake import pipeline, service
from sluice.lake.readers import Staged
from sluice.lake.schemas import IngestOptions, OnError, VersionPublic
from sluice.lake.storage import remove_folder, staging_folder
from sluice.platform import Platform
from sluice.sources.connect import source_engine, stage_table
from sluice.sources.models import LinkedSource
from sluice.sources.secrets import unseal


def _quiet(step: str) -> None:
    del step


def check_source(
    platform: Platform,
    actor: Actor,
    *,
    code: str,
    on_error: OnError = OnError.REJECT,
    progress: pipeline.Progress = _quiet,
) -> VersionPublic:
    """Validate and profile the linked table of ``code``; record the result as a new version."""
    with platform.reading() as session:
        resource = session.scalars(select(Resource).where(Resource.code == code)).one_or_none()
        link = (
            session.scalars(select(LinkedSource).where(LinkedSource.resource_id == resource.id)).one_or_none()
            if resource is not None
            else None
        )
        if link is None:
            raise NotFound(f"{code} is not linked to a source; link one first", resource=code)
        columns: dict[str, str | None] = json.loads(link.columns_json)
        shown, table, schema, sealed = link.url_shown, link.table_name, link.schema_name, link.url_sealed
    used = {column: target for column, target in columns.items() if target is not None}
    options = IngestOptions(on_error=on_error, mapping=used)
    with platform.transaction() as session:
        ticket = service.open_version(session, actor, code=code, options=options, source_name=f"linked:{shown}#{table}")
    work: Path | None = None
    try:
        work = staging_folder(platform.settings.staging_dir, f"{ticket.version_id}-{ticket.token}")
        url = make_url(unseal(platform.settings.keys_dir, sealed))

        def stager(con: duckdb.DuckDBPyConnection, folder: Path) -> Staged:
            engine = source_engine(url)
            try:
                rows = stage_table(con, engine, table, schema, list(used))
            finally:
                engine.dispose()
            return Staged("linked", list(used), dict.fromkeys(used, "VARCHAR"), rows, None, None, False)

        outcome = pipeline.run(
            None, code, ticket.plan, work=work, settings=platform.settings, progress=progress, stager=stager
        )
        with platform.transaction() as session:
            return service.close_version(session, actor, ticket=ticket, outcome=outcome, path=None)
    except SluiceError as exc:
        _fail(platform, actor, ticket, exc.message)
        raise
    except BaseException as exc:
        _fail(platform, actor, ticket, f"interrupted: {type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        if work is not None:
            remove_folder(work)


def _fail(platform: Platform, actor: Actor, ticket: service.Ticket, error: str) -> None:
    with platform.transaction() as session:
        service.fail_version(session, actor, ticket=ticket, error=error)
