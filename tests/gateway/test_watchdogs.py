"""The process's one watchdog thread: each watchdog halts its work at its deadline and again until stopped; a
stopped one never halts; a nearer deadline added later is not kept waiting behind a farther one; no thread per
query."""

from __future__ import annotations

import threading
import time

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
