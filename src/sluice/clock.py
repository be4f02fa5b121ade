"""Time, injected: the system clock in production, a fixed one in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, reproducible demo builds)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# A moment given by a user: it must say its time zone (a naive one is refused with a clear message), and is kept
# in UTC — so what is signed (a contract's terms) reads the same before and after the database.
UtcMoment = Annotated[AwareDatetime, AfterValidator(_in_utc)]
