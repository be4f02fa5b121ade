"""A token-bucket rate limiter, per key (e.g. a client address), in this process's memory.

Each API process limits on its own; behind a load balancer with N processes the effective limit is N times
the setting (documented in docs/operations.md). Keys unseen for a while are forgotten, so memory stays bounded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sluice.clock import Clock

MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, clock: Clock) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float | None:
        """Spend one unit for ``key``: None if allowed, else the seconds to wait before trying again."""
        now = self._clock.now().timestamp()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_KEYS:
                    self._forget_full_buckets(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.refill_per_second

    def _forget_full_buckets(self, now: float) -> None:
        full_after = self.capacity / self.refill_per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
