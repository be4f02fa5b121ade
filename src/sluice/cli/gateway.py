"""`sluice query` and `sluice receipt verify`: the gateway from the shell."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from sluice.cli.context import acting, err, fail, out, platform, reports_errors
from sluice.gateway.querying import query
from sluice.gateway.receipts import Receipt, verify
from sluice.gateway.schemas import QueryRequest

receipts = typer.Typer(help="Signed receipts of delivered answers.", no_args_is_help=True)


@reports_errors
def query_command(
    context: typer.Context,
    sql: Annotated[str, typer.Argument(help="One SELECT; tables are resource codes (FROM psb.residents).")],
    purpose: Annotated[str, typer.Option(help="The purpose of your grant.")],
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most rows to return.")] = 1000,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    receipt_file: Annotated[Path | None, typer.Option("--receipt", help="Write the signed receipt here.")] = None,
) -> None:
    """Run a governed query as the acting account (`sluice --as civil-analyst query …`)."""
    if fmt not in ("json", "csv"):
        fail("--format is json or csv")
    with platform() as opened:
        with opened.reading() as session:
            actor = acting(session, context)
        answer = query(opened, actor, QueryRequest(sql=sql, purpose=purpose, limit=limit))
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(answer.columns)
        writer.writerows(answer.rows)
    else:
        out.print_json(answer.model_dump_json(exclude={"receipt"}))
    if receipt_file is not None:
        receipt_file.write_text(answer.receipt.model_dump_json(indent=2), "utf-8")
    if answer.truncated:
        err.print(f"truncated at {limit} rows (--limit)")


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
