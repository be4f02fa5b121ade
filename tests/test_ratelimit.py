from __future__ import annotations

from datetime import timedelta

from sluice.clock import FixedClock
from sluice.ratelimit import RateLimiter
from tests.conftest import START


def test_a_burst_up_to_the_limit_passes_then_waits_are_told() -> None:
    clock = FixedClock(START)
    limiter = RateLimiter(per_minute=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    wait = limiter.take("a")
    assert wait is not None
    assert 19 < wait <= 20
    assert limiter.take("b") is None, "other keys are not affected"
    clock.advance(timedelta(seconds=20))
    assert limiter.take("a") is None
    assert limiter.take("a") is not None
