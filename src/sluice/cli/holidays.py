"""`sluice holidays`: load the State Council's holiday schedule for a year, show it, and count a deadline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sluice.cli.context import err, fail, out, reports_errors, settings, transaction
from sluice.identity.actor import Actor
from sluice.sharing.service import load_holidays
from sluice.sharing.workdays import (
    CHINESE_CALENDAR,
    Deadline,
    WorkingCalendar,
    holidays_directory,
    package_calendar,
)

holidays = typer.Typer(
    help="Official holidays and adjusted working days (调休) that deadlines are counted in.", no_args_is_help=True
)


def _calendar() -> WorkingCalendar:
    return WorkingCalendar.from_directory(holidays_directory(settings()))


@holidays.command("load")
@reports_errors
def holidays_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The holiday file (JSON).")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace the year's file if one is loaded.")] = False,
) -> None:
    """Check a holiday file and store it for its year; for a year chinese-calendar knows, the file wins."""
    directory = holidays_directory(settings())
    with transaction() as session:
        loaded = load_holidays(session, Actor.system(via="cli"), source=file, directory=directory, replace=replace)
    err.print(
        f"loaded {loaded.year}: {len(loaded.holidays)} holiday(s), {len(loaded.workdays)} adjusted working day(s)"
        f" from {loaded.source}"
    )
    if package_calendar(loaded.year) is not None:
        err.print(f"this file overrides {CHINESE_CALENDAR}'s calendar for {loaded.year}")
    out.print(str(directory / f"{loaded.year}.json"), soft_wrap=True)


@holidays.command("show")
@reports_errors
def holidays_show(year: Annotated[int, typer.Argument(help="The year, e.g. 2027.")]) -> None:
    """A year's holidays and adjusted working days, and where they come from."""
    working = _calendar()
    calendar = working.calendar_for(year)
    if calendar is None:
        fail(
            f"no official calendar for {year}: deadlines there are counted Monday–Friday; "
            "load the State Council's schedule with `sluice holidays load FILE`"
        )
    table = Table("date", "day", "kind", title=str(year))
    kinds = [(day, "holiday") for day in calendar.holidays] + [(day, "working day (调休)") for day in calendar.workdays]
    for day, kind in sorted(kinds):
        table.add_row(day.isoformat(), f"{day:%a}", kind)
    out.print(table)
    out.print(f"source: {calendar.source}", soft_wrap=True)


@holidays.command("check")
@reports_errors
def holidays_check(
    start: Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="The day counting starts after (China).")],
    n: Annotated[int, typer.Argument(min=1, help="How many working days.")],
) -> None:
    """The deadline N working days after START, and whether it is exact or estimated."""
    working = _calendar()
    deadline = working.add_working_days(start.date(), n)
    out.print(_deadline_line(start.date().isoformat(), n, deadline), soft_wrap=True)
    for year in deadline.estimated_years:
        out.print(
            f"estimated: Monday–Friday for {year} (no official calendar loaded; see `sluice holidays load`)",
            soft_wrap=True,
        )


def _deadline_line(start: str, n: int, deadline: Deadline) -> str:
    day = deadline.day.isoformat()
    due = deadline.due_at.isoformat().replace("+00:00", "Z")
    return f"{n} working day(s) after {start}: {day} ({deadline.day:%A}), due {day} 24:00 China time ({due})"
