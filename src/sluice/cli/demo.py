"""`sluice demo`: the demo government."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from sluice.cli.context import err, reports_errors, settings
from sluice.demo.build import DEMO_PASSWORD, build_demo

app = typer.Typer(help="The demo government: departments, enterprises, accounts and their data.", no_args_is_help=True)


@app.command("build")
@reports_errors
def build(
    scale: Annotated[int, typer.Option(min=1, help="Population multiplier (1 ≈ 10 000 residents).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Wipe the data folder's platform and rebuild.")] = False,
) -> None:
    """Build the demo government into SLUICE_DATA_DIR (idempotent; refuses to overwrite anything else)."""
    config = settings()
    if force:
        err.print(f"[yellow]--force: wiping the platform in {config.data_dir}[/]")
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done)

        outcome = build_demo(config, scale=scale, force=force, progress=progress)
    if outcome.built:
        err.print(f"demo government built in {config.data_dir} (scale {scale}); demo password: {DEMO_PASSWORD}")
    else:
        err.print(f"the demo government is already built in {config.data_dir} (scale {scale}); nothing to do")
