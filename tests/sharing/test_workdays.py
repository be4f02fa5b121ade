"""Working-day deadlines: official holidays and 调休, operator-loaded years, estimates, China time, the CLI.

Expected dates are read off chinese_calendar 1.11's own tables (`chinese_calendar/constants.py`) and a printed
calendar, never computed with the code under test:

- Spring Festival 2026: holidays 15–23 Feb (Sun–Mon); worked Saturdays 14 Feb and 28 Feb.
- National Day 2025: holidays 1–8 Oct (Wed–Wed, the 6th is Mid-autumn); worked Sun 28 Sep and Sat 11 Oct.
- Mid-autumn and National Day 2026: holiday Fri 25 Sep, holidays 1–7 Oct (Thu–Wed); worked Sun 20 Sep, Sat 10 Oct.
- No holidays between 8 Oct and 31 Dec 2026 or in early March 2026.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner, Result

from sluice.audit.models import AuditEvent
from sluice.cli.holidays import holidays
from sluice.errors import Conflict, Invalid
from sluice.platform import Platform
from sluice.settings import Settings
from sluice.sharing.workdays import (
    Deadline,
    WorkingCalendar,
    holidays_directory,
    install_holiday_file,
    load_holiday_file,
)

NOTICE_2027 = "国务院办公厅关于2027年部分节假日安排的通知（测试用）"
# An invented 2027 schedule: New Year Fri 1 – Mon 4 Jan (the weekend inside it is fine), Saturday 9 Jan worked.
HOLIDAYS_2027: dict[str, Any] = {
    "year": 2027,
    "source": NOTICE_2027,
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-01-04"],
    "workdays": ["2027-01-09"],
}


def write_holidays(path: Path, **changes: Any) -> Path:
    path.write_text(json.dumps(HOLIDAYS_2027 | changes, ensure_ascii=False), "utf-8")
    return path


@pytest.fixture
def loaded_2027(tmp_path: Path) -> WorkingCalendar:
    directory = tmp_path / "holidays"
    directory.mkdir()
    write_holidays(directory / "2027.json")
    return WorkingCalendar.from_directory(directory)


def test_spring_festival_2026_skips_the_holidays_and_counts_the_worked_saturdays() -> None:
    working = WorkingCalendar()
    # From Fri 13 Feb: Sat 14 (worked), 24–27 Feb, Sat 28 (worked), 2–5 Mar.
    assert working.add_working_days(date(2026, 2, 13), 10) == Deadline(date(2026, 3, 5), True, ())
    assert working.add_working_days(date(2026, 2, 13), 1).day == date(2026, 2, 14)
    assert working.add_working_days(date(2026, 2, 14), 1).day == date(2026, 2, 24)
    assert working.is_working_day(date(2026, 2, 28))
    assert not working.is_working_day(date(2026, 2, 16))  # a Monday of the festival
    assert working.working_days_between(date(2026, 2, 13), date(2026, 3, 5)) == 10


def test_national_day_2025() -> None:
    working = WorkingCalendar()
    # From Fri 26 Sep: Sun 28 (worked), 29–30 Sep, 9–10 Oct, Sat 11 (worked), 13–16 Oct.
    assert working.add_working_days(date(2025, 9, 26), 10).day == date(2025, 10, 16)
    assert working.add_working_days(date(2025, 9, 30), 1).day == date(2025, 10, 9)
    assert working.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0


def test_mid_autumn_and_national_day_2026() -> None:
    working = WorkingCalendar()
    # From Fri 18 Sep: Sun 20 (worked), 21–24 Sep, 28–30 Sep, 8–9 Oct.
    assert working.add_working_days(date(2026, 9, 18), 10).day == date(2026, 10, 9)
    # From Wed 30 Sep: 8 Oct, 9 Oct, Sat 10 Oct (worked), 12–16 Oct, 19–20 Oct.
    assert working.add_working_days(date(2026, 9, 30), 10).day == date(2026, 10, 20)
    assert working.source_of(2026) == "chinese-calendar"


def test_a_deadline_reaching_an_unknown_year_counts_monday_to_friday_and_says_so() -> None:
    working = WorkingCalendar()
    # From Thu 24 Dec 2026: 25, 28–31 Dec, then 1 and 4–7 Jan 2027 as plain weekdays.
    deadline = working.add_working_days(date(2026, 12, 24), 10)
    assert deadline == Deadline(day=date(2027, 1, 7), exact=False, estimated_years=(2027,))
    assert not working.knows(2027)
    assert working.source_of(2027) == "Monday–Friday (no official calendar loaded for 2027)"
    assert working.add_working_days(date(2026, 12, 24), 5) == Deadline(date(2026, 12, 31), True, ())
    # The start day is not counted, so starting on the last day of 2026 estimates 2027 only.
    assert working.add_working_days(date(2027, 12, 31), 1).estimated_years == (2028,)


def test_with_a_2027_file_loaded_the_deadline_is_exact(loaded_2027: WorkingCalendar) -> None:
    # 25, 28–31 Dec; 1–4 Jan are holidays; 5–8 Jan; Sat 9 Jan is worked.
    deadline = loaded_2027.add_working_days(date(2026, 12, 24), 10)
    assert deadline == Deadline(day=date(2027, 1, 9), exact=True, estimated_years=())
    assert loaded_2027.knows(2027)
    assert loaded_2027.source_of(2027) == NOTICE_2027
    assert not loaded_2027.is_working_day(date(2027, 1, 4))
    assert loaded_2027.is_working_day(date(2027, 1, 9))
    assert not loaded_2027.is_working_day(date(2027, 1, 10))


def test_a_file_overrides_chinese_calendar_for_its_year(tmp_path: Path) -> None:
    write_holidays(tmp_path / "2026.json", year=2026, source="更正通知", holidays=["2026-03-02"], workdays=[])
    working = WorkingCalendar.from_directory(tmp_path)
    assert working.source_of(2026) == "更正通知"
    assert not working.is_working_day(date(2026, 3, 2))
    assert not working.is_working_day(date(2026, 2, 14))  # the file has no worked Saturday; the file wins
    assert working.source_of(2025) == "chinese-calendar"


def test_the_day_an_application_is_filed_is_its_day_in_beijing() -> None:
    working = WorkingCalendar()
    filed = datetime(2026, 2, 12, 23, 30, tzinfo=UTC)  # already 07:30 on Fri 13 Feb in Beijing
    deadline = working.deadline_after(filed, 10)
    assert deadline.day == date(2026, 3, 5)  # counted from 13 Feb, not from the UTC day, 12 Feb (→ 4 Mar)
    assert deadline.due_at == datetime(2026, 3, 5, 16, 0, tzinfo=UTC)
    assert deadline.due_at.utcoffset() is not None
    assert working.deadline_after(datetime(2026, 1, 5, 23, 30, tzinfo=UTC), 1).day == date(2026, 1, 7)
    with pytest.raises(ValueError, match="timezone-aware"):
        working.deadline_after(datetime(2026, 1, 5, 23, 30), 1)


def test_counting_needs_at_least_one_day_and_an_empty_range_has_none() -> None:
    working = WorkingCalendar()
    with pytest.raises(ValueError, match="at least one working day"):
        working.add_working_days(date(2026, 3, 2), 0)
    assert working.working_days_between(date(2026, 3, 5), date(2026, 3, 2)) == 0
    assert working.working_days_between(date(2026, 3, 5), date(2026, 3, 5)) == 0


@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)))
def test_known_years_agree_with_chinese_calendar(day: date) -> None:
    assert WorkingCalendar().is_working_day(day) == chinese_calendar.is_workday(day)


@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2027, 12, 31)), st.integers(min_value=1, max_value=40))
def test_counting_forward_and_counting_between_agree(start: date, n: int) -> None:
    working = WorkingCalendar()
    deadline = working.add_working_days(start, n)
    assert working.working_days_between(start, deadline.day) == n
    assert working.is_working_day(deadline.day)
    assert deadline.exact == (deadline.day.year < 2027)
    assert deadline.due_at == datetime(deadline.day.year, deadline.day.month, deadline.day.day, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"year": 2027,\n "source": "x",\n "holidays": [}', "not valid JSON: Expecting value at line 3, column 15"),
        ("[]", "is a JSON object with keys year, source, holidays, workdays"),
        ('{"year": 2027, "source": "x", "holidays": []}', "missing key(s) workdays"),
        ('{"year": 2027, "holidays": [], "workdays": [], "source": "x", "names": {}}', "unknown key(s) names"),
        ('{"year": "2027", "source": "x", "holidays": [], "workdays": []}', "'year' must be a year such as 2027"),
        ('{"year": 2027, "source": " ", "holidays": [], "workdays": []}', "'source' must name the notice"),
        ('{"year": 2027, "source": "x", "holidays": "2027-01-01", "workdays": []}', "'holidays' must be a list"),
        (
            '{"year": 2027, "source": "x", "holidays": ["2026-12-31"], "workdays": []}',
            "2026-12-31, which is not in 2027",
        ),
        (
            '{"year": 2027, "source": "x", "holidays": ["2027-02-30"], "workdays": []}',
            "'2027-02-30', which is not a date",
        ),
        ('{"year": 2027, "source": "x", "holidays": ["20270101"], "workdays": []}', "'20270101', which is not a date"),
        ('{"year": 2027, "source": "x", "holidays": [], "workdays": [20270220]}', "20270220, which is not a date"),
        ('{"year": 2027, "source": "x", "holidays": ["2027-01-01", "2027-01-01"], "workdays": []}', "2027-01-01 twice"),
        (
            '{"year": 2027, "source": "x", "holidays": ["2027-02-20"], "workdays": ["2027-02-20"]}',
            "2027-02-20 is listed both as a holiday and as a working day",
        ),
        (
            '{"year": 2027, "source": "x", "holidays": [], "workdays": ["2027-02-22"]}',
            "workdays lists 2027-02-22, a Monday; it holds only the weekend days worked in lieu",
        ),
    ],
)
def test_a_bad_holiday_file_is_invalid_and_says_why(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "2027.json"
    path.write_text(text, "utf-8")
    with pytest.raises(Invalid) as raised:
        load_holiday_file(path)
    assert expected in raised.value.message
    assert str(path) in raised.value.message
    with pytest.raises(Invalid):
        WorkingCalendar.from_directory(tmp_path)


def test_a_good_file_may_put_a_holiday_on_a_weekend(tmp_path: Path) -> None:
    calendar = load_holiday_file(write_holidays(tmp_path / "2027.json"))
    assert date(2027, 1, 2) in calendar.holidays  # a Saturday
    assert calendar.workdays == frozenset({date(2027, 1, 9)})
    assert calendar.source == NOTICE_2027


def test_a_file_must_be_named_for_its_year_and_a_missing_folder_is_no_files(tmp_path: Path) -> None:
    write_holidays(tmp_path / "new-year.json")
    with pytest.raises(Invalid, match=r"holds the year 2027; name it 2027\.json"):
        WorkingCalendar.from_directory(tmp_path)
    assert not WorkingCalendar.from_directory(tmp_path / "absent").knows(2027)
    assert not WorkingCalendar.from_directory(None).knows(2027)


def test_installing_refuses_to_replace_a_year_unless_told(tmp_path: Path) -> None:
    directory = tmp_path / "holidays"
    install_holiday_file(write_holidays(tmp_path / "mine.json"), directory)
    assert (directory / "2027.json").read_text("utf-8") == (tmp_path / "mine.json").read_text("utf-8")
    changed = write_holidays(tmp_path / "changed.json", workdays=[])
    with pytest.raises(Conflict, match="already loaded"):
        install_holiday_file(changed, directory)
    assert install_holiday_file(changed, directory, replace=True).workdays == frozenset()
    assert sorted(p.name for p in directory.iterdir()) == ["2027.json"]


def test_the_holidays_folder_defaults_to_the_data_folder(tmp_path: Path) -> None:
    assert holidays_directory(Settings(data_dir=tmp_path)) == tmp_path / "holidays"


def run(settings: Settings, *args: str) -> Result:
    env = {"SLUICE_DATA_DIR": str(settings.data_dir), "SLUICE_DATABASE_URL": settings.database_url or ""}
    return CliRunner(env=env).invoke(holidays, list(args))


def test_the_cli_loads_shows_and_checks(settings: Settings, tmp_path: Path) -> None:
    data_dir = settings.data_dir
    estimated = run(settings, "check", "2026-12-24", "10")
    assert estimated.exit_code == 0, estimated.output
    assert "2027-01-07" in estimated.stdout
    assert "estimated: Monday–Friday for 2027" in estimated.stdout
    unknown = run(settings, "show", "2027")
    assert unknown.exit_code == 1
    assert "no official calendar for 2027" in unknown.stderr

    source = write_holidays(tmp_path / "2027-notice.json")
    loaded = run(settings, "load", str(source))
    assert loaded.exit_code == 0, loaded.output
    assert (data_dir / "holidays" / "2027.json").is_file()
    again = run(settings, "load", str(source))
    assert again.exit_code == 1
    assert "--replace" in again.stderr
    assert run(settings, "load", str(source), "--replace").exit_code == 0

    shown = run(settings, "show", "2027")
    assert shown.exit_code == 0, shown.output
    assert f"source: {NOTICE_2027}" in shown.stdout
    assert "2027-01-09" in shown.stdout
    exact = run(settings, "check", "2026-12-24", "10")
    assert "2027-01-09" in exact.stdout
    assert "2027-01-09T16:00:00Z" in exact.stdout
    assert "estimated" not in exact.stdout

    platform = Platform.open(settings)
    with platform.reading() as session:
        loads = session.scalars(select(AuditEvent.entry).where(AuditEvent.action == "config.holidays")).all()
    platform.close()
    assert len(loads) == 2  # the refused second load changed nothing and recorded nothing
    detail = json.loads(loads[-1])["detail"]
    assert detail["replaced"] is True
    assert detail["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_the_cli_names_the_problem_in_a_bad_file(settings: Settings, tmp_path: Path) -> None:
    bad = write_holidays(tmp_path / "bad.json", workdays=["2027-02-22"])
    refused = run(settings, "load", str(bad))
    assert refused.exit_code == 1
    assert "2027-02-22, a Monday" in refused.stderr
    assert "Traceback" not in refused.output
    assert not (settings.data_dir / "holidays").exists()
    overriding = run(settings, "load", str(write_holidays(tmp_path / "x.json", year=2026, holidays=[], workdays=[])))
    assert "overrides chinese-calendar's calendar for 2026" in overriding.stderr
