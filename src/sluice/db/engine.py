"""Engine construction: the one place that knows SQLite and PostgreSQL need different care."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BEGIN = "sluice_sqlite_begin"


def create_db_engine(url: str) -> Engine:
    """An engine for the metadata database, tuned per backend."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is issued by SQLAlchemy
        # (the documented recipe); WAL lets readers run beside the one writer; foreign keys are off by default.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Read through the OS page cache without copying (mmap), and keep more pages per connection: the
        # catalog's search joins thousands of rows by key, and page reads were a third of its time.
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers BEGIN IMMEDIATE: they take the write lock at once and queue (busy_timeout) instead of
        # failing when a read transaction tries to upgrade. Readers (see `reader_engine`) BEGIN DEFERRED and
        # never wait for a writer in WAL mode.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

    return engine


def reader_engine(engine: Engine) -> Engine:
    """The same engine and pool, for read-only transactions (on SQLite they do not take the write lock)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def redact_url(url: str) -> str:
    """The URL with any password hidden: safe for logs and `sluice doctor`."""
    return make_url(url).render_as_string(hide_password=True)
