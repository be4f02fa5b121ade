"""Work an API process does on its own timer (delivering webhooks, escalating overdue deadlines): one daemon
thread per kind of work, a round every ``interval`` seconds from ``start()`` to ``stop()``. A round that fails
is logged and tried again next time; a round that says it stopped at its limit is followed at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, round_: Callable[[], bool], *, interval: float, stop_timeout: float = 10.0) -> None:
        """``round_`` does one round of work and returns True when there is more to do straight away."""
        if interval <= 0:
            raise ValueError(f"{name} needs an interval above 0 seconds")
        self.name = name
        self._round = round_
        self._interval = interval
        self._stop_timeout = stop_timeout
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish and wait for it (a round in progress ends first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self._stop_timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._one_round():
                self._stopping.wait(self._interval)

    def _one_round(self) -> bool:
        try:
            return self._round()
        except Exception:  # a database hiccup must not end the thread; the next round tries again
            log.exception("a round of %s failed; trying again in %g s", self.name, self._interval)
            return False
