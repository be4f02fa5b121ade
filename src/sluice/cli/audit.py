"""`sluice audit`: sign a tree head, export the log, verify it (here, or from an export on another machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sluice.audit import service
from sluice.audit.export import export_log
from sluice.audit.service import verify_log
from sluice.audit.standalone_verifier import verify_export
from sluice.cli.context import acting, err, out, platform, reports_errors
from sluice.identity.actor import Actor

audit = typer.Typer(
    help="The tamper-evident audit log (RFC 9162 Merkle tree, signed tree heads).", no_args_is_help=True
)


@audit.command("sign")
@reports_errors
def audit_sign(context: typer.Context) -> None:
    """Sequence every queued event and sign a tree head now."""
    with platform() as opened, opened.transaction() as session:
        head = service.new_tree_head(session, acting(session, context))
    out.print_json(head.model_dump_json())


@audit.command("export")
@reports_errors
def audit_export(folder: Annotated[Path, typer.Argument(help="Where to write entries, tree heads and keys.")]) -> None:
    """Write the log to files another machine can verify (`python standalone_verifier.py FOLDER`)."""
    with platform() as opened, opened.reading() as session:
        done = export_log(session, opened.signer, opened.settings.keys_dir, folder)
    err.print(f"exported {done.entries} entries and {done.heads} tree heads to {folder}")


@audit.command("verify")
@reports_errors
def audit_verify(
    from_export: Annotated[
        Path | None, typer.Option("--from-export", help="Verify an export instead of this platform's database.")
    ] = None,
) -> None:
    """Recompute the tree from the entries; check every tree head's signature and root; name the first bad index."""
    if from_export is not None:
        report = verify_export(from_export)
        out.print(report.render(), markup=False, soft_wrap=True)
        if not report.ok:
            raise typer.Exit(1)
        return
    with platform() as opened, opened.transaction() as session:
        checked = verify_log(session, Actor.system(via="cli"), keys_dir=opened.settings.keys_dir, signer=opened.signer)
    out.print(checked.report, markup=False, soft_wrap=True)
    if not checked.ok:
        raise typer.Exit(1)
