"""Decisions kept while nothing they read has changed: the gateway's answer to "may this caller run a query of
this shape, for this purpose — and how is it rewritten?" is the same at every call until a grant, a resource,
its description, its placement or its serving version changes, or until a grant's term begins or ends.

Each decision is kept under the database's *policy stamp*: a random value that triggers (migration 0012)
replace in the same transaction as any insert, delete or update of a table a decision reads (``WATCHED``; the
delivery counters excepted). A call reads the stamp — one row by key — and takes a decision kept under that
stamp and valid at its time; otherwise it decides in full, and keeps the result only if the stamp was the
same after deciding (nothing changed meanwhile, not even by this transaction). Refusals are never kept: each is
decided, and logged, in full. What must happen at every call still does: the use case's permission check, the
quota reservation, the audit event and the receipt.

A grant that is suspended, revoked, narrowed or replaced changes the stamp, so the very next call decides in
full; a grant whose term ends is past its decision's window (the earliest moment any grant it looked at begins
or ends), so the very next call after that moment decides in full too. ``docs/decisions/0019`` says why this
is safe; tests/gateway/test_decisions.py proves every table the decisions read is watched, every column
but the counters changes the stamp, and a kept decision is never used after a change.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.orm import Session

from sluice.db import plain
from sluice.db.session import now
from sluice.identity.actor import Actor

T = TypeVar("T")

# The tables a decision reads (the migration names their columns); a test proves no decision reads another.
WATCHED = (
    "grants",
    "linked_sources",
    "organisations",
    "resource_revisions",
    "resources",
    "serving_engines",
    "versions",
)
COUNTERS = {"grants": ("calls_used",), "resources": ("use_count", "download_count", "view_count")}
INFO_KEY = "decisions"  # where a platform's sessions find its cache (absent: nothing is kept)
STAMP = "SELECT stamp FROM policy_stamp WHERE id = 1"
_STAMP = text(STAMP)


class Horizon:
    """While deciding at ``at``: the moments around it at which something looked at changes (a grant's term
    begins or ends). The decision holds from the latest such moment up to the earliest one after ``at``."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.since: datetime | None = None
        self.until: datetime | None = None

    def mind(self, *moments: datetime) -> None:
        for moment in moments:
            if moment <= self.at:
                self.since = moment if self.since is None else max(self.since, moment)
            else:
                self.until = moment if self.until is None else min(self.until, moment)

    def holds(self, at: datetime) -> bool:
        return (self.since is None or self.since <= at) and (self.until is None or at < self.until)


@dataclass(frozen=True)
class _Kept:
    horizon: Horizon
    value: Any


class DecisionCache:
    """A small thread-safe LRU of decisions, keyed by the policy stamp and what was asked."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, at: datetime) -> Any | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if not kept.horizon.holds(at):
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return kept.value

    def put(self, key: Hashable, horizon: Horizon, value: Any) -> None:
        with self._lock:
            self._kept[key] = _Kept(horizon, value)
            if len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


def decided(session: Session, question: tuple[Hashable, ...], decide: Callable[[Horizon], T]) -> T:
    """The answer to ``question`` kept under the current stamp and valid now, else ``decide``'s (kept if the
    stamp did not change while deciding). ``decide`` tells the horizon every moment its answer depends on."""
    cache: DecisionCache | None = session.info.get(INFO_KEY)
    at = now(session)
    if cache is None:
        return decide(Horizon(at))
    before = stamp(session)
    if before is None:  # the stamp's row is gone: keep nothing, decide every call in full
        return decide(Horizon(at))
    key = (before, *question)
    found = cache.get(key, at)
    if found is not None:
        return found  # type: ignore[no-any-return]
    horizon = Horizon(at)
    value = decide(horizon)
    if stamp(session) == before:
        cache.put(key, horizon, value)
    return value


def stamp(session: Session) -> int | None:
    value = plain.scalar(session, STAMP, {})
    return None if value is None else int(value)


def asker(actor: Actor) -> tuple[Hashable, ...]:
    """Everything about the caller a decision may depend on (not how it signed in)."""
    return (actor.kind, actor.username, actor.user_id, actor.org_id, actor.org_kind, actor.roles)


def watch_installed(engine: Engine) -> bool:
    """Whether this database keeps the stamp: its row and every watched table's triggers (a decision is kept
    only then; a schema altered by hand that lost a trigger falls back to deciding every call in full)."""
    with engine.connect() as connection:
        return _stamp_row(connection) and _triggers(connection) >= set(WATCHED)


def check_after_migrating(connection: Connection) -> None:
    """Run by every migration: a new stamp (processes running across it decide afresh), and a refusal if the
    migration lost a watched table's triggers — on SQLite, altering a table in batch mode recreates it without
    them. A migration that does so must create them again."""
    if not _stamp_row(connection):
        return  # before migration 0012
    connection.execute(text("UPDATE policy_stamp SET stamp = :stamp WHERE id = 1"), {"stamp": secrets.randbits(62)})
    missing = sorted(set(WATCHED) - _triggers(connection))
    if missing:
        raise RuntimeError(
            f"this migration left {', '.join(missing)} without the policy stamp's triggers (see migration 0012): "
            "create them again in the migration"
        )


def _stamp_row(connection: Connection) -> bool:
    """Whether the stamp's table and row are there (asked without failing: a failed statement would end the
    transaction of a migration that asks)."""
    return inspect(connection).has_table("policy_stamp") and connection.execute(_STAMP).first() is not None


def _triggers(connection: Connection) -> set[str]:
    """The watched tables that carry their stamp triggers (all three on SQLite; the one on PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace AND t.tgname = c.relname || '_policy_stamp' "
                "AND t.tgenabled = 'A'"  # enabled always: not disabled, and firing for replication roles too
            )
        )
        return {row[0] for row in rows}
    names = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    return {
        table
        for table in WATCHED
        if all(f"{table}_policy_stamp_{verb}" in names for verb in ("insert", "delete", "update"))
    }
