"""`sluice`: set up, run and administer a Sluice platform from its host."""

from __future__ import annotations

from typing import Annotated

import typer

from sluice import __version__
from sluice.cli import audit, catalog, controls, demo, gateway, holidays, identity, lake, sharing, sources, webhooks
from sluice.cli.context import ACT_AS, err, fail, out, settings
from sluice.db import migrate as migrations
from sluice.db.engine import create_db_engine, redact_url
from sluice.doctor import Level, diagnose
from sluice.errors import SluiceError
from sluice.platform import Platform, initialise

app = typer.Typer(
    name="sluice",
    help="Sluice: share government data safely. Commands act on the platform in SLUICE_DATA_DIR "
    "(default ./sluice-data) as the local system; what they change is recorded in the audit log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(identity.orgs, name="orgs")
app.add_typer(identity.users, name="users")
app.add_typer(identity.tokens, name="tokens")
app.add_typer(catalog.resources, name="resources")
app.add_typer(catalog.elements, name="elements")
app.add_typer(demo.app, name="demo")
app.add_typer(lake.versions, name="versions")
app.add_typer(lake.lake, name="lake")
app.add_typer(sources.sources, name="sources")
app.add_typer(gateway.receipts, name="receipt")
app.add_typer(gateway.engines, name="engines")
app.add_typer(sharing.applications, name="applications")
app.add_typer(sharing.grants, name="grants")
app.add_typer(sharing.objections_app, name="objections")
app.add_typer(sharing.sharing, name="sharing")
app.add_typer(holidays.holidays, name="holidays")
app.add_typer(webhooks.webhooks, name="webhooks")
app.add_typer(controls.controls, name="controls")
app.add_typer(audit.audit, name="audit")
app.command("query")(gateway.query_command)
app.command("ingest")(lake.ingest_command)
app.command("inbox")(lake.inbox_command)


def _version(value: bool) -> None:
    if value:
        out.print(f"sluice {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    context: typer.Context,
    act_as: Annotated[
        str | None,
        typer.Option("--as", help="Act as this account (its roles apply), instead of as the local system."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Sluice command line."""
    context.obj = {ACT_AS: act_as}


@app.command()
def init() -> None:
    """Create a platform in SLUICE_DATA_DIR: metadata database, lake folder and a fresh Ed25519 signing key.

    Safe to run again: it creates only what is missing and never replaces an existing key.
    """
    config = settings()
    try:
        report = initialise(config)
    except SluiceError as exc:
        fail(exc.message)
    err.print(f"data folder  {config.data_dir.resolve()}" + (" (created)" if report.created_data_dir else ""))
    err.print(f"database     {redact_url(config.metadata_url)} at schema {report.schema_revision}")
    err.print(f"signing key  {config.signing_key_path}" + (" (created, mode 600)" if report.created_key else " (kept)"))
    err.print("[green]ready.[/] Next: `sluice orgs add`, `sluice users add`, or `sluice demo build`.")


@app.command()
def migrate() -> None:
    """Upgrade the metadata database schema to this version of Sluice (Alembic upgrade head)."""
    config = settings()
    engine = create_db_engine(config.metadata_url)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
    except Exception as exc:  # a migration refusing (e.g. separation-of-duties violation) says why
        fail(f"migration stopped: {exc}")
    finally:
        engine.dispose()
    if before == after:
        err.print(f"schema already at revision {after}; nothing to do")
    else:
        err.print(f"schema upgraded from {before or 'empty'} to {after}")


@app.command()
def doctor() -> None:
    """Check configuration, database, schema, lake, signing key and accounts; say what is wrong and how to fix it."""
    checks = diagnose(settings())
    marks = {Level.OK: "[green]ok  [/]", Level.WARN: "[yellow]warn[/]", Level.FAIL: "[red]FAIL[/]"}
    for check in checks:
        out.print(f"{marks[check.level]} {check.name:<22} {check.message}", soft_wrap=True)
    failed = [c for c in checks if c.level is Level.FAIL]
    if failed:
        err.print(f"[red]{len(failed)} problem(s) found.[/]")
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level (warning, info, debug).")] = "warning",
) -> None:
    """Serve the portal and the API."""
    import uvicorn

    from sluice.demo.build import login_hint

    config = settings()
    try:
        platform = Platform.open(config)
    except SluiceError as exc:
        fail(exc.message)
    hint = login_hint(platform)
    platform.close()
    base = f"http://{host}:{port}"
    where = f"Sluice is serving {base} (portal {base}/ · API docs {base}/docs)"
    # One plain line (no wrapping at the terminal's width): where, and how to sign in.
    how = hint or "sign in with a token from `sluice tokens create USER`"
    print(f"{where} — {how}", flush=True)
    uvicorn.run("sluice.api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level=log_level)


def main() -> None:
    app()
