"""`sluice sources`: link a resource to a table in its department's database, and check it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sluice.cli.context import acting, out, platform, reading, reports_errors, transaction
from sluice.lake.schemas import OnError
from sluice.sources import service
from sluice.sources.checking import check_source
from sluice.sources.schemas import SourceLink
from sluice.sources.secrets import drop_old_keys

sources = typer.Typer(help="Linked sources: data that stays in the department's own database.", no_args_is_help=True)


@sources.command("link")
@reports_errors
def sources_link(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    table: Annotated[str, typer.Argument(help="The source table.")],
    schema: Annotated[str | None, typer.Option(help="The table's schema (PostgreSQL).")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="COLUMN=FIELD; repeatable.")] = None,
) -> None:
    """Link CODE to TABLE. The connection URL (with its password) is read from standard input, so that it
    stays out of the shell's history: `echo postgresql://u:p@host/db | sluice sources link psb.x people`."""
    url = sys.stdin.readline().strip()
    mapped = {k: (v or None) for k, _, v in (pair.partition("=") for pair in mapping or [])}
    link = SourceLink(url=url, table=table, schema=schema, mapping=mapped)
    with transaction() as session:
        shown = service.link_source(session, acting(session, context), code=code, link=link)
    out.print_json(shown.model_dump_json(by_alias=True))


@sources.command("show")
@reports_errors
def sources_show(context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code.")]) -> None:
    """Where CODE's data lives (the password is never shown)."""
    with reading() as session:
        shown = service.get_source(session, acting(session, context), code=code)
    out.print_json(shown.model_dump_json(by_alias=True))


@sources.command("unlink")
@reports_errors
def sources_unlink(context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code.")]) -> None:
    """Remove CODE's link (the data itself is untouched)."""
    with transaction() as session:
        service.unlink_source(session, acting(session, context), code=code)


@sources.command("check")
@reports_errors
def sources_check(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    on_error: Annotated[OnError, typer.Option(help="reject or quarantine.")] = OnError.REJECT,
) -> None:
    """Validate and profile the linked table; the result is recorded as a version."""
    with platform() as opened:
        with opened.reading() as session:
            actor = acting(session, context)
        version = check_source(opened, actor, code=code, on_error=on_error)
    out.print_json(version.model_dump_json(by_alias=True))


@sources.command("rotate-key")
@reports_errors
def sources_rotate_key(context: typer.Context) -> None:
    """Re-encrypt every linked source's connection under a new key, then retire the old keys."""
    with platform() as opened:
        with opened.transaction() as session:
            count = service.rotate_source_key(session, acting(session, context))
        drop_old_keys(opened.settings.keys_dir)
    out.print(f"re-encrypted {count} connection(s) under a new key; old keys removed")
