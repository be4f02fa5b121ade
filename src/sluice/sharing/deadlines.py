"""Deadlines of the workflow in working days: the calendar each process keeps, and a deadline as users see it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from sluice.db.session import now, settings_of
from sluice.sharing.schemas import Deadline
from sluice.sharing.workdays import Deadline as Due
from sluice.sharing.workdays import WorkingCalendar, china_date, holidays_directory

_CALENDARS: dict[tuple[Path, float], WorkingCalendar] = {}
_LOCK = threading.Lock()


def calendar_of(session: Session) -> WorkingCalendar:
    """The working calendar for this platform: chinese-calendar plus the operator's holiday files, read again
    when a file is added to the folder."""
    directory = holidays_directory(settings_of(session))
    stamp = directory.stat().st_mtime if directory.is_dir() else 0.0
    key = (directory, stamp)
    with _LOCK:
        found = _CALENDARS.get(key)
        if found is None:
            _CALENDARS.clear()
            found = _CALENDARS[key] = WorkingCalendar.from_directory(directory if directory.is_dir() else None)
    return found


def due_after(session: Session, days: int) -> Due:
    """The deadline ``days`` working days after now."""
    return calendar_of(session).deadline_after(now(session), days)


def deadline_view(session: Session, at: datetime, exact: bool, *, open_: bool) -> Deadline:
    """A stored deadline as users see it: working days left, overdue, and a note when it was estimated."""
    moment = now(session)
    calendar = calendar_of(session)
    day = china_date(at - timedelta(seconds=1))  # the last working day, not the midnight after it
    left = calendar.working_days_between(china_date(moment), day) if moment < at else 0
    note = None
    if not exact:
        note = (
            "estimated: a year it spans has no official holiday calendar loaded, so Monday–Friday were counted; "
            "the operator can load one with `sluice holidays load FILE`"
        )
    return Deadline(at=at, day=day, exact=exact, working_days_left=left, overdue=open_ and moment >= at, note=note)
