"""`sluice query` and `sluice receipt verify`: the gateway from the shell."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sluice.cli import remote
from sluice.cli.context import acting, err, fail, out, platform, reports_errors, transaction
from sluice.cli.remote import DEFAULT_URL
from sluice.gateway import placement
from sluice.gateway.querying import MEDIA, export, query
from sluice.gateway.receipts import Receipt, verify
from sluice.gateway.schemas import Delivery, QueryRequest

receipts = typer.Typer(help="Signed receipts of delivered answers.", no_args_is_help=True)


@reports_errors
def query_command(
    context: typer.Context,
    sql: Annotated[str, typer.Argument(help="One SELECT; tables are resource codes (FROM psb.residents).")],
    purpose: Annotated[str, typer.Option(help="The purpose of your grant.")],
    limit: Annotated[
        int | None, typer.Option(min=1, help="Most rows (default: 1000 for json, everything for files).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv, parquet or arrow.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the answer here (needed for parquet and arrow).")
    ] = None,
    receipt_file: Annotated[Path | None, typer.Option("--receipt", help="Write the signed receipt here.")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SLUICE_TOKEN",
            show_default=False,
            help="Ask a Sluice server over HTTP with your API token (better in SLUICE_TOKEN than on the command line).",
        ),
    ] = None,
    url: Annotated[str, typer.Option(envvar="SLUICE_URL", help="The server asked with --token.")] = DEFAULT_URL,
) -> None:
    """Run a governed query: with a token, at a Sluice server over HTTP (`SLUICE_TOKEN=… sluice query …`); without
    one, on this host's platform as the acting account (`sluice --as civil-analyst query …`)."""
    if fmt not in ("json", *MEDIA):
        fail("--format is json, csv, parquet or arrow")
    if fmt in ("parquet", "arrow") and output is None:
        fail(f"--format {fmt} writes a binary file: give --output FILE")
    request = QueryRequest(sql=sql, purpose=purpose, limit=limit)
    if token:
        remote.ask(url, token, request, fmt=fmt, output=output, receipt_file=receipt_file)
        return
    with platform() as opened:
        with opened.reading() as session:
            actor = acting(session, context)
        if fmt == "json":
            answer = query(opened, actor, request)
            text = answer.model_dump_json(exclude={"receipt"}, indent=2)
            if output is None:
                out.print_json(text)
            else:
                output.write_text(text, "utf-8")
            receipt, rows, truncated = answer.receipt, answer.row_count, answer.truncated
        else:
            made = export(opened, actor, request, fmt=fmt, delivery=Delivery.QUERY)
            with output.open("wb") if output is not None else nullcontext(sys.stdout.buffer) as sink:
                for chunk in made.chunks():
                    sink.write(chunk)
            receipt, rows, truncated = made.receipt, made.rows, made.truncated
    if receipt_file is not None:
        receipt_file.write_text(receipt.model_dump_json(indent=2), "utf-8")
    if output is not None:
        err.print(f"{rows} rows written to {output}")
    if truncated:
        err.print(f"truncated at {rows} rows (--limit, or the platform's export limit)")


@receipts.command("verify")
@reports_errors
def receipt_verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A receipt (JSON).")],
    key: Annotated[Path | None, typer.Option(help="The platform's public key (PEM); default: this platform's.")] = None,
) -> None:
    """Check a receipt's signature; exit 1 if it does not verify."""
    try:
        receipt = Receipt.model_validate(json.loads(file.read_text("utf-8")))
    except (ValueError, json.JSONDecodeError) as exc:
        fail(f"{file} is not a receipt: {exc}")
    if key is not None:
        pem = key.read_text("ascii")
    else:
        with platform() as opened:
            pem = opened.signer.public_key_pem
    if not verify(receipt, pem):
        fail(f"{file}: the signature does not verify (changed, or signed by another key than {receipt.key_id})")
    out.print(f"{file}: valid receipt for audit event {receipt.body.get('audit_event')}, key {receipt.key_id}")


engines = typer.Typer(
    help="Where resources are answered (operator): the lake's DuckDB, Spark, or a linked source.", no_args_is_help=True
)


@engines.command("list")
@reports_errors
def engines_list(context: typer.Context) -> None:
    """Resources not answered by the lake's DuckDB."""
    with transaction() as session:
        rows = placement.list_engines(session, acting(session, context))
    table = Table("resource", "engine", "by", "since")
    for row in rows:
        table.add_row(
            row.resource, row.engine, row.assigned_by or "", row.assigned_at.isoformat() if row.assigned_at else ""
        )
    out.print(table)


@engines.command("assign")
@reports_errors
def engines_assign(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    engine: Annotated[placement.Assignable, typer.Argument(help="spark, or duckdb (the default) to undo.")],
) -> None:
    """Serve a lake resource from Spark (big data), or back from DuckDB. Takes effect at the next query."""
    with transaction() as session:
        placement.assign_engine(session, acting(session, context), code=code, engine=engine)
    out.print(f"{code} is now answered by {engine.value}")
