"""`sluice controls`: asking for critical actions under dual control, and listing them. Confirming or refusing is
the second person's decision, taken with their own credentials (`POST /api/v1/controls/{id}/confirm`), never
with `sluice --as`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sluice.cli.context import acting, err, out, reading, reports_errors, transaction
from sluice.controls import service
from sluice.controls.schemas import ActionKind, ActionRequest

controls = typer.Typer(
    help="Critical actions one person asks for and another confirms (delete a version, rotate the key).",
    no_args_is_help=True,
)
Id = Annotated[int, typer.Argument(help="The request's number.")]


@controls.command("ask")
@reports_errors
def controls_ask(
    context: typer.Context,
    kind: Annotated[ActionKind, typer.Argument(help="version.delete or key.rotate.")],
    target: Annotated[str, typer.Argument(help="CODE@NUMBER for a version; signing-key for the key.")],
    reason: Annotated[str, typer.Option(help="Why: the second person decides on it.")],
) -> None:
    """Ask for a critical action (`sluice --as NAME controls ask …`)."""
    with transaction() as session:
        asked = service.ask_for_action(
            session, acting(session, context), data=ActionRequest(kind=kind, target=target, reason=reason)
        )
    err.print(
        f"request {asked.id}: {asked.kind.value} {asked.target} waits for a second person until {asked.expires_at}"
    )


@controls.command("list")
@reports_errors
def controls_list(context: typer.Context, status: Annotated[str | None, typer.Option()] = None) -> None:
    with reading() as session:
        found = service.list_actions(session, acting(session, context), status=status)
    table = Table("id", "kind", "target", "asked by", "status", "decided by", title="critical actions")
    for a in found:
        table.add_row(str(a.id), a.kind.value, a.target, a.requested_by, a.status, a.decided_by or "")
    out.print(table)
