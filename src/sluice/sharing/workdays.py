"""Working days: deadlines in the sharing workflow are counted in Chinese working days.

A working day is Monday to Friday, except official public holidays, plus the adjusted working weekend days
(调休) the State Council announces with them. Each year's calendar comes from, in order of precedence:

1. a holiday file the operator loaded (`sluice holidays load`, stored as `<holidays dir>/<year>.json`). A file
   OVERRIDES the `chinese_calendar` package for its year: the operator's word wins, so a correction or a late
   change to the schedule can be applied without waiting for a new release of the package;
2. the `chinese_calendar` package, which knows 2004–2026 (version 1.11);
3. neither: Monday to Friday are counted, and every deadline that touches such a year is marked estimated.

A deadline falls due at the END of its day in China time (midnight Asia/Shanghai), i.e. 16:00 UTC that day.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

from sluice.errors import Conflict, Invalid

CHINESE_CALENDAR = "chinese-calendar"
CHINA_TIME = "Asia/Shanghai"
HOLIDAYS_SUBDIR = "holidays"
FILE_KEYS = ("year", "source", "holidays", "workdays")
SATURDAY, SUNDAY = 5, 6
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearCalendar:
    """One year's official schedule: public holidays and adjusted working weekend days (调休)."""

    year: int
    source: str
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < SATURDAY and day not in self.holidays


@dataclass(frozen=True)
class Deadline:
    """The day a deadline falls on; `exact` unless some counted day lies in a year with no official calendar."""

    day: date
    exact: bool
    estimated_years: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.exact == bool(self.estimated_years):
            raise ValueError("a deadline is exact exactly when no year of it was estimated")

    @property
    def due_at(self) -> datetime:
        """The end of the day in China time (midnight Asia/Shanghai), as a timezone-aware UTC datetime."""
        return datetime.combine(self.day + ONE_DAY, time(), tzinfo=china_time()).astimezone(UTC)


class HasDataDir(Protocol):
    @property
    def data_dir(self) -> Path: ...


def holidays_directory(settings: HasDataDir) -> Path:
    """Where loaded holiday files live: `settings.holidays_dir`, or else `<data_dir>/holidays`."""
    configured: Path | None = getattr(settings, "holidays_dir", None)
    return configured or settings.data_dir / HOLIDAYS_SUBDIR


@functools.cache
def china_time() -> ZoneInfo:
    return ZoneInfo(CHINA_TIME)


def china_date(moment: datetime) -> date:
    """The calendar day in Beijing at a timezone-aware moment."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be timezone-aware (UTC) to know its day in China")
    return moment.astimezone(china_time()).date()


class WorkingCalendar:
    """Counts Chinese working days across years, from loaded holiday files and the `chinese_calendar` package."""

    def __init__(self, loaded: Mapping[int, YearCalendar] | None = None) -> None:
        self._loaded = dict(loaded or {})
        self._years: dict[int, YearCalendar | None] = {}

    @classmethod
    def from_directory(cls, directory: Path | None) -> WorkingCalendar:
        """Read every `<year>.json` file in `directory` (none if None or absent); one bad file makes it Invalid."""
        if directory is None or not directory.is_dir():
            return cls()
        return cls({calendar.year: calendar for calendar in _read_directory(directory)})

    def calendar_for(self, year: int) -> YearCalendar | None:
        """The official calendar in force for a year (a loaded file wins over the package), or None."""
        if year not in self._years:
            self._years[year] = self._loaded.get(year) or package_calendar(year)
        return self._years[year]

    def knows(self, year: int) -> bool:
        return self.calendar_for(year) is not None

    def source_of(self, year: int) -> str:
        calendar = self.calendar_for(year)
        if calendar is None:
            return f"Monday–Friday (no official calendar loaded for {year})"
        return calendar.source

    def is_working_day(self, day: date) -> bool:
        calendar = self.calendar_for(day.year)
        if calendar is None:
            return day.weekday() < SATURDAY
        return calendar.is_working_day(day)

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day strictly after `start` (n ≥ 1)."""
        if n < 1:
            raise ValueError(f"a deadline is at least one working day away, not {n}")
        counted = 0
        day = start
        while counted < n:
            day += ONE_DAY
            counted += self.is_working_day(day)
        first = start + ONE_DAY  # the start day itself is not counted, so its year does not matter
        estimated = tuple(year for year in range(first.year, day.year + 1) if not self.knows(year))
        return Deadline(day=day, exact=not estimated, estimated_years=estimated)

    def deadline_after(self, moment: datetime, n: int) -> Deadline:
        """The n-th working day after the Beijing day of a timezone-aware `moment` (e.g. an application's filing)."""
        return self.add_working_days(china_date(moment), n)

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d have start < d ≤ end (0 when end is not after start)."""
        return sum(self.is_working_day(day) for day in _days_after(start, end))


def _days_after(start: date, end: date) -> Iterator[date]:
    day = start + ONE_DAY
    while day <= end:
        yield day
        day += ONE_DAY


@functools.cache
def package_calendar(year: int) -> YearCalendar | None:
    """The `chinese_calendar` package's schedule for a year, or None if it does not know the year."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    holidays: set[date] = set()
    workdays: set[date] = set()
    for day in _days_after(date(year - 1, 12, 31), date(year, 12, 31)):
        resting, name = chinese_calendar.get_holiday_detail(day)
        if name is not None:
            (holidays if resting else workdays).add(day)
    return YearCalendar(year=year, source=CHINESE_CALENDAR, holidays=frozenset(holidays), workdays=frozenset(workdays))


def _read_directory(directory: Path) -> Iterator[YearCalendar]:
    for path in sorted(directory.glob("*.json")):
        calendar = load_holiday_file(path)
        if path.stem != str(calendar.year):
            raise Invalid(
                f"holiday file {path} holds the year {calendar.year}; name it {calendar.year}.json",
                file=str(path),
                year=calendar.year,
            )
        yield calendar


def load_holiday_file(path: Path) -> YearCalendar:
    """Read and check a holiday file: {"year", "source", "holidays": [YYYY-MM-DD…], "workdays": [YYYY-MM-DD…]}.

    `workdays` are the adjusted working weekend days (调休), so each must be a Saturday or a Sunday; a holiday may
    fall on a weekend. Every problem is an `Invalid` naming the file, the field and the offending value.
    """
    content = _parse_json(path)
    year = _year_field(path, content)
    source = content["source"]
    if not isinstance(source, str) or not source.strip():
        raise Invalid(f"{path}: 'source' must name the notice the dates come from", file=str(path), field="source")
    holidays = _dates_field(path, content, "holidays", year)
    workdays = _dates_field(path, content, "workdays", year)
    _check_workdays(path, holidays, workdays)
    return YearCalendar(year=year, source=source.strip(), holidays=holidays, workdays=workdays)


def _parse_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read the holiday file {path}: {exc}", file=str(path)) from exc
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            file=str(path),
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    if not isinstance(content, dict):
        raise Invalid(f"{path}: a holiday file is a JSON object with keys {', '.join(FILE_KEYS)}", file=str(path))
    _check_keys(path, content)
    return content


def _check_keys(path: Path, content: dict[str, Any]) -> None:
    missing = [key for key in FILE_KEYS if key not in content]
    if missing:
        raise Invalid(f"{path}: missing key(s) {', '.join(missing)}", file=str(path), missing=missing)
    unknown = sorted(set(content) - set(FILE_KEYS))
    if unknown:
        raise Invalid(
            f"{path}: unknown key(s) {', '.join(unknown)}; a holiday file has only {', '.join(FILE_KEYS)}",
            file=str(path),
            unknown=unknown,
        )


def _year_field(path: Path, content: dict[str, Any]) -> int:
    year = content["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not MINYEAR <= year <= MAXYEAR:
        raise Invalid(f"{path}: 'year' must be a year such as 2027, not {year!r}", file=str(path), field="year")
    return year


def _dates_field(path: Path, content: dict[str, Any], field: str, year: int) -> frozenset[date]:
    values = content[field]
    if not isinstance(values, list):
        raise Invalid(f"{path}: '{field}' must be a list of dates (YYYY-MM-DD)", file=str(path), field=field)
    days: set[date] = set()
    for value in values:
        day = _date_value(path, field, value)
        if day.year != year:
            raise Invalid(
                f"{path}: {field} lists {value}, which is not in {year}", file=str(path), field=field, value=value
            )
        if day in days:
            raise Invalid(f"{path}: {field} lists {value} twice", file=str(path), field=field, value=value)
        days.add(day)
    return frozenset(days)


def _date_value(path: Path, field: str, value: object) -> date:
    problem = f"{path}: {field} lists {value!r}, which is not a date written YYYY-MM-DD"
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise Invalid(problem, file=str(path), field=field, value=value)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(problem, file=str(path), field=field, value=value) from exc


def _check_workdays(path: Path, holidays: frozenset[date], workdays: frozenset[date]) -> None:
    both = sorted(holidays & workdays)
    if both:
        raise Invalid(
            f"{path}: {both[0]} is listed both as a holiday and as a working day",
            file=str(path),
            value=both[0].isoformat(),
        )
    for day in sorted(workdays):
        if day.weekday() not in (SATURDAY, SUNDAY):
            raise Invalid(
                f"{path}: workdays lists {day}, a {day:%A}; it holds only the weekend days worked in lieu (调休)",
                file=str(path),
                field="workdays",
                value=day.isoformat(),
            )


def install_holiday_file(source: Path, directory: Path, *, replace: bool = False) -> YearCalendar:
    """Check a holiday file and store it as `<directory>/<year>.json`; an existing year is kept unless `replace`."""
    calendar = load_holiday_file(source)
    target = directory / f"{calendar.year}.json"
    if target.exists() and not replace:
        raise Conflict(
            f"holidays for {calendar.year} are already loaded ({target}); add --replace to replace them",
            year=calendar.year,
            file=str(target),
        )
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(source.read_bytes())
    os.replace(partial, target)  # readers never see half a file
    return calendar
