"""`sluice ingest`, `sluice versions`, `sluice lake` and `sluice inbox`: the lake from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sluice.cli.context import acting, err, fail, out, platform, reading, reports_errors, transaction
from sluice.inbox import service as inbox
from sluice.lake import pipeline, service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, Mode, OnError, PiiDecision, SourceFormat, VersionPublic

versions = typer.Typer(
    help="Versions of resources' data: list, show reports, decide flagged personal data.", no_args_is_help=True
)
lake = typer.Typer(
    help="Keeping the lake tidy (operator): recover interrupted ingestions, prune old versions.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@reports_errors
def ingest_command(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code, e.g. psb.residents.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The data file.")],
    mode: Annotated[Mode, typer.Option(help="replace, append or upsert.")] = Mode.REPLACE,
    on_error: Annotated[OnError, typer.Option(help="reject the version, or quarantine bad rows.")] = OnError.REJECT,
    fmt: Annotated[SourceFormat | None, typer.Option("--format", help="Default: from the file name.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Default: detected.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Workbook sheet (xlsx); default the first.")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="COLUMN=FIELD (or COLUMN= to drop it); repeatable.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Load a file as a new version of a resource (CSV, TSV, XLSX, JSON, NDJSON or Parquet)."""
    options = IngestOptions(
        mode=mode, on_error=on_error, format=fmt, encoding=encoding, sheet=sheet, mapping=_mapping(mapping or [])
    )
    with platform() as opened:
        with opened.reading() as session:
            actor = acting(session, context)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task(f"{code}: starting", total=len(pipeline.STEPS))

            def step(name: str) -> None:
                bar.update(task, description=f"{code}: {name}", completed=pipeline.STEPS.index(name))

            version = ingest(opened, actor, code=code, source=file, options=options, progress=step)
            bar.update(task, completed=len(pipeline.STEPS))
    if json_out:
        out.print_json(version.model_dump_json(by_alias=True))
    else:
        _summary(version)
    if version.status.value == "rejected":
        raise typer.Exit(1)


def _mapping(pairs: list[str]) -> dict[str, str | None]:
    mapped: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--map takes COLUMN=FIELD, not {pair!r}")
        column, target = pair.split("=", 1)
        mapped[column] = target or None
    return mapped


def _summary(version: VersionPublic) -> None:
    report = version.report
    out.print(f"{version.resource} version {version.number}: [bold]{version.status.value}[/]", markup=True)
    if report is not None:
        out.print(
            f"rows read {report.rows_read}, accepted {report.rows_accepted}, quarantined {report.rows_quarantined}"
            f" ({report.format}{', ' + report.encoding if report.encoding else ''})"
        )
        for rule in report.rules:
            lines = ", ".join(str(e.line or e.row) for e in rule.examples[:5])
            out.print(f"  {rule.count:>8}  {rule.message}  (e.g. line {lines})")
    for flag in version.pii:
        out.print(
            f"  flagged: {flag.field} looks like {flag.kind} ({flag.share:.0%}); decide with `sluice versions decide`"
        )
    if version.digest:
        out.print(f"sha256 {version.digest}, {version.rows} rows, {version.byte_size} bytes")


@versions.command("list")
@reports_errors
def versions_list(
    context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code.")], json_out: JsonOption = False
) -> None:
    """A resource's versions, newest first."""
    with reading() as session:
        found = service.list_versions(session, acting(session, context), code=code)
    if json_out:
        out.print_json(data=[v.model_dump(mode="json", by_alias=True) for v in found])
        return
    table = Table("number", "status", "serving", "rows", "mode", "source", "created", title=code)
    for v in found:
        table.add_row(
            str(v.number),
            v.status.value,
            "✓" if v.serving else "",
            str(v.rows or ""),
            v.mode.value,
            v.source_name,
            v.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@versions.command("show")
@reports_errors
def versions_show(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    number: Annotated[int, typer.Argument(help="Version number.")],
) -> None:
    """One version as JSON: report, profile and flags."""
    with reading() as session:
        shown = service.get_version(session, acting(session, context), code=code, number=number)
    out.print_json(shown.model_dump_json(by_alias=True))


@versions.command("held")
@reports_errors
def versions_held(context: typer.Context) -> None:
    """Versions waiting for a decision on flagged personal data."""
    with reading() as session:
        found = service.list_held(session, acting(session, context))
    table = Table("resource", "number", "flagged", title="held versions")
    for v in found:
        table.add_row(
            v.resource, str(v.number), ", ".join(f"{f.field} ({f.kind})" for f in v.pii if f.decision is None)
        )
    out.print(table)


@versions.command("decide")
@reports_errors
def versions_decide(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    number: Annotated[int, typer.Argument(help="Version number.")],
    field: Annotated[str, typer.Argument(help="The flagged field.")],
    decision: Annotated[str, typer.Argument(help="accept (it is personal) or dismiss.")],
    reason: Annotated[str, typer.Option(help="Why (required to dismiss).")] = "",
) -> None:
    """Accept or dismiss a flag; the version is published once every flag is decided."""
    try:
        decided = PiiDecision(field=field, decision=decision, reason=reason)
    except ValueError:
        fail("the decision is accept or dismiss")
    with transaction() as session:
        version = service.decide_pii(session, acting(session, context), code=code, number=number, decisions=[decided])
    _summary(version)


@lake.command("recover")
@reports_errors
def lake_recover(
    context: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="No ingestion is running: treat all unfinished work as interrupted.")
    ] = False,
) -> None:
    """Mark interrupted ingestions failed and remove partial files no version points at."""
    with transaction() as session:
        removed = service.recover_interrupted(session, acting(session, context), everything=everything)
    err.print(f"removed {len(removed)} unreferenced folder(s)")
    for path in removed:
        out.print(path)


@lake.command("prune")
@reports_errors
def lake_prune(context: typer.Context) -> None:
    """Remove the files of versions superseded longer ago than SLUICE_VERSION_RETENTION_DAYS."""
    with transaction() as session:
        pruned = service.prune_versions(session, acting(session, context))
    err.print(f"pruned {len(pruned)} version(s)")


@reports_errors
def inbox_command(
    context: typer.Context, unread: Annotated[bool, typer.Option(help="Only unread notices.")] = False
) -> None:
    """Notices for the acting account's organisation and roles."""
    with reading() as session:
        found = inbox.list_notices(session, acting(session, context), unread_only=unread)
    table = Table("id", "when", "kind", "message", title="inbox")
    for notice in found:
        table.add_row(str(notice.id), notice.created_at.isoformat(timespec="minutes"), notice.kind, notice.message)
    out.print(table)
