"""`sluice webhooks`: see organisations' webhooks, and send due deliveries from the shell (or a scheduler)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sluice.cli.context import acting, err, out, platform, reading, reports_errors
from sluice.inbox import service as inbox
from sluice.inbox.webhooks import deliver_batch

webhooks = typer.Typer(
    help="Webhooks that carry organisations' notices to their own systems: list them, send due deliveries.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@webhooks.command("list")
@reports_errors
def webhooks_list(
    context: typer.Context,
    organisation: Annotated[str | None, typer.Option(help="Only this organisation's webhooks (its code).")] = None,
    json: JsonOption = False,
) -> None:
    """List webhooks (never their secrets)."""
    with reading() as session:
        found = inbox.list_webhooks(session, acting(session, context), org_code=organisation)
    if json:
        out.print_json(data=[w.model_dump(mode="json") for w in found])
        return
    table = Table("id", "organisation", "url", "kinds", "created", "disabled", title="webhooks")
    for hook in found:
        disabled = hook.disabled_at.isoformat(timespec="minutes") if hook.disabled_at else ""
        created = hook.created_at.isoformat(timespec="minutes")
        table.add_row(str(hook.id), hook.organisation, hook.url, ", ".join(hook.kinds) or "all", created, disabled)
    out.print(table)


@webhooks.command("deliver")
@reports_errors
def webhooks_deliver(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most deliveries to attempt.")] = 50,
) -> None:
    """Send the deliveries that are due now, once each (what the API processes do every few seconds)."""
    with platform() as opened:
        counts = deliver_batch(opened, limit=limit)
    out.print(
        f"attempted {counts.attempted}: {counts.delivered} delivered, {counts.retrying} to retry, "
        f"{counts.failed} failed"
    )
    if counts.failed:
        err.print("see `GET /api/v1/webhooks/{id}/deliveries` for why a delivery failed")
