"""Driving one ingestion: open the version, run the pipeline with no transaction open, move the files into
place, close the version — and on any failure record why, leave the previous version serving and remove
every partial file. The API, the CLI and the demo all ingest through ``ingest``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from sluice.errors import SluiceError, TooLarge
from sluice.identity.actor import Actor
from sluice.lake import pipeline, service
from sluice.lake.schemas import IngestOptions, VersionPublic
from sluice.lake.storage import (
    disk_error,
    duckdb_disk_error,
    publish_folder,
    remove_folder,
    staging_folder,
    version_folder,
)
from sluice.platform import Platform

log = logging.getLogger("sluice.lake")


def _quiet(step: str) -> None:
    del step


def ingest(
    platform: Platform,
    actor: Actor,
    *,
    code: str,
    source: Path,
    source_name: str | None = None,
    options: IngestOptions | None = None,
    progress: pipeline.Progress = _quiet,
) -> VersionPublic:
    """Load ``source`` as a new version of resource ``code``; return the version (published, held or
    rejected). Raise, having recorded a failed version, if the file cannot be ingested at all."""
    options = options or IngestOptions()
    name = source_name or source.name
    settings = platform.settings
    size = source.stat().st_size
    if size > settings.upload_max_bytes:
        raise TooLarge(
            f"the file is {size} bytes, over the limit of {settings.upload_max_bytes}; split it, or ask the operator "
            "to raise SLUICE_UPLOAD_MAX_BYTES",
            limit=settings.upload_max_bytes,
            size=size,
        )
    with platform.transaction() as session:
        ticket = service.open_version(session, actor, code=code, options=options, source_name=name)
    work: Path | None = None
    target: Path | None = None
    try:
        work = staging_folder(settings.staging_dir, f"{ticket.version_id}-{ticket.token}")
        outcome = pipeline.run(source, name, ticket.plan, work=work, settings=settings, progress=progress)
        relative: str | None = None
        if not outcome.rejected:
            target = version_folder(settings.lake_dir, code, ticket.number, ticket.token)
            publish_folder(outcome.out, target)
            relative = target.relative_to(settings.lake_dir).as_posix()
        with platform.transaction() as session:
            return service.close_version(session, actor, ticket=ticket, outcome=outcome, path=relative)
    except SluiceError as exc:
        _fail(platform, actor, ticket, exc.message, target)
        raise
    except OSError as exc:
        clear = disk_error(exc)
        _fail(platform, actor, ticket, clear.message if clear else f"the lake could not be written: {exc}", target)
        if clear is not None:
            raise clear from None
        raise
    except duckdb.Error as exc:
        clear = duckdb_disk_error(exc)
        _fail(
            platform,
            actor,
            ticket,
            clear.message if clear else f"{service.ENGINE_FAILURE}{type(exc).__name__}: {exc}"[:500],
            target,
        )
        if clear is not None:
            raise clear from None
        raise
    except BaseException as exc:  # a crash or Ctrl-C: record it, keep nothing half-made
        _fail(platform, actor, ticket, f"interrupted: {type(exc).__name__}: {exc}"[:500], target)
        raise
    finally:
        if work is not None:
            remove_folder(work)


def _fail(platform: Platform, actor: Actor, ticket: service.Ticket, error: str, target: Path | None) -> None:
    if target is not None:
        remove_folder(target)
    try:
        with platform.transaction() as session:
            service.fail_version(session, actor, ticket=ticket, error=error)
    except Exception:  # the database itself may be what failed; `sluice lake recover` finishes the job
        log.exception("could not record the failure of version %s of %s", ticket.number, ticket.code)
