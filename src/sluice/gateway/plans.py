"""Plan caching: the rewritten SQL of a query, kept per process and reused while nothing it depends on has
changed — the query text, the engine's dialect and every granted view (relation, fields, masks, row filter,
pseudonym key). A changed grant or a new version is a different key, so a stale plan can never be used; what
is checked at every call (grant status, term, purpose, quota, delivery) is checked before the cache is
consulted. Parsing and rule 1 are cached in ``policy`` by query text alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from sluice.gateway.rewrite import GrantedView

PlanKey = tuple[str, str, bool, tuple[tuple[object, ...], ...]]


class PlanCache:
    """A small thread-safe LRU of governed SQL."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._plans: OrderedDict[PlanKey, str] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: PlanKey, make: Callable[[], str]) -> str:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
        plan = make()  # outside the lock: two threads may both make it, and both get the same SQL
        with self._lock:
            self._plans[key] = plan
            if len(self._plans) > self.size:
                self._plans.popitem(last=False)
        return plan

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()


def plan_key(sql: str, dialect: str, views: dict[str, GrantedView], *, bulk: bool = False) -> PlanKey:
    return (sql, dialect, bulk, tuple(fingerprint(views[code]) for code in sorted(views)))


def fingerprint(view: GrantedView) -> tuple[object, ...]:
    """Everything about a view that shapes the rewritten SQL."""
    return (
        view.code,
        view.relation.sql(),
        tuple(view.fields.items()),
        tuple(sorted((name, m.kind.value, m.width) for name, m in view.masks.items())),
        view.row_filter.sql() if view.row_filter is not None else None,
        view.key,
    )


PLANS = PlanCache()
