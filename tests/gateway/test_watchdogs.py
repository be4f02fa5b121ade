"""The process's one watchdog thread: each watchdog halts its work at its deadline and again until stopped; a
stopped one never halts; a nearer deadline added later is not kept waiting behind a farther one; no thread per
query."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sluice.errors import Exhausted, Invalid
from sluice.gateway import engines
from sluice.gateway.engines import Watchdog


def test_each_watchdog_halts_at_its_own_deadline_and_a_stopped_one_never() -> None:
    halted: dict[str, list[float]] = {"far": [], "near": [], "stopped": []}
    started = time.monotonic()

    def halt(name: str) -> Watchdog:
        return Watchdog({"far": 1.0, "near": 0.1, "stopped": 0.2}[name], lambda: halted[name].append(time.monotonic()))

    far, near, stopped = halt("far"), halt("near"), halt("stopped")
    threads = threading.active_count()
    far.start()  # the thread now sleeps until 1 s …
    near.start()  # … and must wake for this one at 0.1 s
    stopped.start()
    stopped.stop()
    for _ in range(50):  # many short queries start no thread of their own
        w = Watchdog(5, lambda: None)
        w.start()
        w.stop()
    assert threading.active_count() <= max(threads, 1) + 1
    time.sleep(0.55)
    near.stop()
    assert near.fired  # long before the far deadline: not kept waiting behind it
    assert not far.fired
    assert not stopped.fired
    assert len(halted["near"]) >= 2  # halted again (every fifth of a second) until the work stopped
    time.sleep(0.75)
    far.stop()
    assert far.fired
    assert halted["far"][0] - started >= 1.0
    assert halted["stopped"] == []
    count = len(halted["near"])
    time.sleep(0.3)
    assert len(halted["near"]) == count  # stopped: no more halts


def test_stopped_watchdogs_do_not_pile_up_nor_keep_their_work_alive() -> None:
    from sluice.gateway import engines

    for _ in range(engines.COMPACT_AT * 4):
        watchdog = Watchdog(600, lambda: None)
        watchdog.start()
        watchdog.stop()
        assert watchdog.halt is None
    assert len(engines._deadlines()._due) <= engines.COMPACT_AT * 2


def test_a_streamed_answer_past_its_time_limit_is_stopped_as_too_slow(tmp_path: Path) -> None:
    # Interrupted while batches stream, DuckDB's error reaches us through Arrow as an OSError.
    engine = engines.DuckDBEngine(tmp_path)
    slow = "SELECT i FROM range(3000000000) t(i) WHERE hash(i) % 1000 = 0"
    started = time.monotonic()
    with pytest.raises(Exhausted, match=r"past the limit of 0\.5 s"):
        for _ in engine.batches(slow, engines.Limits(row_cap=10**9, seconds=0.5)):
            pass
    assert time.monotonic() - started < 10


def test_an_engine_error_in_the_middle_of_a_stream_is_the_caller_s_error_not_an_incident(tmp_path: Path) -> None:
    engine = engines.DuckDBEngine(tmp_path)
    failing = "SELECT CAST(CASE WHEN i > 300000 THEN 'x' ELSE '1' END AS INTEGER) AS v FROM range(1000000) t(i)"
    with pytest.raises(Invalid, match="the query failed: Conversion Error"):
        for _ in engine.batches(failing, engines.Limits(row_cap=10**9, seconds=30)):
            pass
