"""Engines: where a governed query runs. One protocol, five engines, their differences written down as data.

- **DuckDB** over the lake (the default): one in-memory database per process and lake, a cursor per query;
  only the lake folder is readable (``allowed_directories``), no other external access, configuration locked
  (FACTS.md: in this order; views and ``read_parquet`` inside the lake keep working, any other path fails);
  a memory limit; a watchdog interrupts a query past its time limit. Each version is a table in memory with
  an index on its key while the serving cache has room, else a view over its Parquet file.
- **PostgreSQL, MySQL/MariaDB, SQLite**: a linked resource is answered by its department's own database — the
  data never passes through the lake. Each runs in a read-only transaction with the database's own statement
  time limit (``statement_timeout``; ``max_statement_time`` on MariaDB, ``MAX_EXECUTION_TIME`` on MySQL; a
  progress handler on SQLite, whose file is opened read-only), streamed through a server-side cursor.
- **Spark** (local mode here; any master the operator sets) for resources the operator assigns to it: the
  version's Parquet file is a temporary view, SQL on files is switched off, a job group is cancelled past the
  time limit, the driver's memory is its cap.

Every engine yields Arrow record batches of at most ``row_cap + 1`` rows in all (one more than the cap says
the answer was cut), so that JSON answers and streamed exports are made the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import logging
import math
import os
import re
import sqlite3
import string
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from duckdb.func import PythonUDFType
from duckdb.sqltypes import VARCHAR
from sqlalchemy.engine import make_url
from sqlglot import exp, parse_one

from sluice.errors import Exhausted, Invalid, SluiceError
from sluice.gateway.masks import DUCKDB, MYSQL, POSTGRES, SPARK, SQLITE, MaskDialect
from sluice.settings import Settings
from sluice.sources.secrets import unseal

BATCH_ROWS = 65_536


class EngineKind:
    DUCKDB = "duckdb"
    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    SQLITE = "sqlite"
    SPARK = "spark"


DIALECT_OF: dict[str, MaskDialect] = {
    EngineKind.DUCKDB: DUCKDB,
    EngineKind.POSTGRESQL: POSTGRES,
    EngineKind.MYSQL: MYSQL,
    EngineKind.SQLITE: SQLITE,
    EngineKind.SPARK: SPARK,
}


@dataclass(frozen=True, order=True)
class LakeTable:
    """One version's rows as the engine names them (``sluice_v<version id>``): its file, size and key."""

    name: str
    path: str
    resource: str
    rows: int
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """Where one governed query runs and what the engine needs to reach the data (never a plain password:
    a linked source's URL stays sealed until the engine opens it)."""

    kind: str
    source_id: int | None = None
    url_sealed: str | None = None
    tables: tuple[LakeTable, ...] = ()  # the lake's versions the query reads (DuckDB and Spark)

    @property
    def dialect(self) -> MaskDialect:
        return DIALECT_OF[self.kind]

    @property
    def label(self) -> str:
        return {
            EngineKind.DUCKDB: "the lake",
            EngineKind.SPARK: "Spark",
        }.get(self.kind, f"its department's {self.kind} database (source {self.source_id})")

    def same_place(self, other: Target) -> bool:
        return (self.kind, self.source_id) == (other.kind, other.source_id)

    def merged(self, other: Target) -> Target:
        return Target(self.kind, self.source_id, self.url_sealed, tuple(sorted({*self.tables, *other.tables})))


@dataclass(frozen=True)
class Limits:
    row_cap: int
    seconds: float
    memory: str = "1GB"
    threads: int = 2


class Engine(Protocol):
    def batches(self, sql: str, limits: Limits) -> Iterator[pa.RecordBatch]:
        """The answer to ``sql`` (in this engine's dialect) in record batches, at most ``row_cap + 1`` rows."""


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def engine_for(target: Target, settings: Settings) -> Engine:
    if target.kind == EngineKind.DUCKDB:
        return DuckDBEngine(settings.lake_dir, target.tables, settings.serving_cache_rows)
    if target.kind == EngineKind.SPARK:
        from sluice.gateway.spark import SparkEngine  # pyspark is heavy: imported only when a resource uses it

        return SparkEngine(settings, {t.name: t.path for t in target.tables})
    if target.url_sealed is None:
        raise Invalid(f"{target.label} has no stored connection")
    url = unseal(settings.keys_dir, target.url_sealed)
    if target.kind == EngineKind.POSTGRESQL:
        return PostgresEngine(url)
    if target.kind == EngineKind.MYSQL:
        return MySQLEngine(url)
    if target.kind == EngineKind.SQLITE:
        return SQLiteEngine(url)
    raise Invalid(f"no engine {target.kind!r}")


def answer(engine: Engine, sql: str, limits: Limits) -> Answer:
    """The whole (capped) answer as Python rows, for JSON."""
    if isinstance(engine, DuckDBEngine):
        return engine.rows(sql, limits)  # DuckDB's own rows: no round trip through Arrow for a few rows of JSON
    batches = list(engine.batches(sql, limits))
    rows: list[tuple[Any, ...]] = []
    columns: list[str] = []
    for batch in batches:
        columns = batch.schema.names
        values = [column.to_pylist() for column in batch.columns]
        rows.extend(zip(*values, strict=True))
    return Answer(columns=columns, rows=rows[: limits.row_cap], truncated=len(rows) > limits.row_cap)


log = logging.getLogger("sluice.gateway")


class Watchdog:
    """Stops work past its deadline: calls ``stop`` then, and again every fifth of a second until the work is
    over — a stop that arrives before the engine has started the work would otherwise be lost. Every watchdog
    of the process is kept by one daemon thread (``_Deadlines``): a query does not start a thread of its own,
    and the thread never holds the process open."""

    def __init__(self, seconds: float, halt: Callable[[], object]) -> None:
        self.seconds = seconds
        self.halt: Callable[[], object] | None = halt
        self.done = threading.Event()
        self._fired = threading.Event()

    @property
    def fired(self) -> bool:
        return self._fired.is_set()

    def start(self) -> None:
        _deadlines().watch(self, time.monotonic() + self.seconds)

    def stop(self) -> None:
        self.done.set()
        self.halt = None  # the work's connection is not kept alive by a deadline still to come
        _deadlines().forget()

    def bark(self) -> bool:
        """Past the deadline: halt the work (again); whether to come back in a fifth of a second."""
        halt = self.halt
        if self.done.is_set() or halt is None:
            return False
        self._fired.set()
        with contextlib.suppress(Exception):  # the engine may be closing under us; the work ends either way
            halt()
        return not self.done.is_set()


REBARK_SECONDS = 0.2
COMPACT_AT = 256  # stopped watchdogs waiting in the heap before it is rebuilt without them


class _Deadlines:
    """The process's one watchdog thread: a heap of (deadline, watchdog); it sleeps until the earliest and
    calls that watchdog then. Stopped watchdogs are dropped when their time comes, or all at once when they
    are more than half the heap (so the heap holds about as many entries as there is work running)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopped = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="sluice-watchdogs")
        self.thread.start()

    def watch(self, watchdog: Watchdog, at: float) -> None:
        with self._changed:
            heapq.heappush(self._due, (at, next(self._order), watchdog))
            if self._due[0][2] is watchdog:  # a new earliest deadline: wake the thread to sleep less
                self._changed.notify()

    def forget(self) -> None:
        with self._changed:
            self._stopped += 1
            if self._stopped >= COMPACT_AT and self._stopped * 2 > len(self._due):
                self._due = [entry for entry in self._due if not entry[2].done.is_set()]
                heapq.heapify(self._due)
                self._stopped = 0

    def _run(self) -> None:
        while True:
            try:
                watchdog = self._next_due()
                if watchdog.bark():  # outside the lock: halting may take a while
                    self.watch(watchdog, time.monotonic() + REBARK_SECONDS)
            except Exception:
                log.exception("the watchdog thread caught an error; it goes on")

    def _next_due(self) -> Watchdog:
        with self._changed:
            while True:
                while self._due and self._due[0][2].done.is_set():
                    heapq.heappop(self._due)
                    self._stopped = max(self._stopped - 1, 0)
                if not self._due:
                    self._changed.wait()
                    continue
                at, _, watchdog = self._due[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(self._due)
                return watchdog


_DEADLINES: _Deadlines | None = None
_DEADLINES_LOCK = threading.Lock()
_DEADLINES_PID = 0


def _deadlines() -> _Deadlines:
    """The watchdog thread, started on first use — and again in a forked child (which inherits no threads, and
    perhaps a lock held at the fork: it takes a new one) or should the thread ever have stopped."""
    global _DEADLINES, _DEADLINES_LOCK, _DEADLINES_PID  # noqa: PLW0603 - one per process, made on first use
    if os.getpid() != _DEADLINES_PID:
        _DEADLINES, _DEADLINES_LOCK, _DEADLINES_PID = None, threading.Lock(), os.getpid()
    with _DEADLINES_LOCK:
        if _DEADLINES is None or not _DEADLINES.thread.is_alive():
            _DEADLINES = _Deadlines()
        return _DEADLINES


# --- DuckDB over the lake -----------------------------------------------------------------------------------


# The MASK mask as a character table: ASCII letters → x, digits → n (for text, and for UTF-8 bytes).
_MASKED_FROM = string.ascii_letters + string.digits
_MASKED_TO = "x" * len(string.ascii_letters) + "n" * len(string.digits)
_LETTERS_DIGITS_TEXT = str.maketrans(_MASKED_FROM, _MASKED_TO)
LETTERS_DIGITS = bytes.maketrans(_MASKED_FROM.encode("ascii"), _MASKED_TO.encode("ascii"))


def duckdb_letters_digits(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The MASK mask (ASCII letters → x, digits → n) over a batch of strings, for DuckDB (``letters_digits``).

    The string bytes are translated in one pass, in place of each other: in UTF-8 the bytes of ASCII letters
    and digits never occur inside another character, and each becomes one byte, so the offsets and the nulls
    stay as they are. On 1 000 000 Chinese addresses this adds ~0.02 s to an export, where ten ``replace``
    calls added 0.3 s and two regular expressions 1.2 s."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 0:
            return values
        return pa.chunked_array([duckdb_letters_digits(chunk) for chunk in values.chunks])
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())  # a layout with one data buffer (not string views)
    validity, offsets, data = values.buffers()[:3]
    translated = pa.py_buffer(data.to_pybytes().translate(LETTERS_DIGITS)) if data is not None else None
    return pa.Array.from_buffers(
        values.type, len(values), [validity, offsets, translated], null_count=values.null_count, offset=values.offset
    )


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Our functions that the DuckDB dialect's masks call (before the configuration is locked)."""
    con.create_function(
        "sluice_letters_digits",
        duckdb_letters_digits,
        [VARCHAR],
        VARCHAR,
        type=PythonUDFType.ARROW,
        side_effects=False,
    )


def locked_connection(lake_dir: Path, *, memory_limit: str = "1GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_functions(con)
    con.execute(f"SET memory_limit = '{_size(memory_limit)}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET allowed_directories = ?", [[str(lake_dir.resolve()) + "/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


_LAKES: OrderedDict[tuple[str, str, int], duckdb.DuckDBPyConnection] = OrderedDict()
_LAKES_LOCK = threading.Lock()
LAKES_KEPT = 4


def lake_database(lake_dir: Path, *, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    """The process's locked in-memory DuckDB over one lake, made once (a new database costs about 15 ms; a
    cursor on it, a fraction of one). Its settings — the memory limit and threads shared by all queries of
    the process, the lake-only access, the lock — are fixed when it is made."""
    key = (str(lake_dir.resolve()), memory_limit, int(threads))
    with _LAKES_LOCK:
        database = _LAKES.get(key)
        if database is None:
            database = _LAKES[key] = locked_connection(lake_dir, memory_limit=memory_limit, threads=threads)
            if len(_LAKES) > LAKES_KEPT:  # tests open many platforms; a server, one
                evicted, _ = _LAKES.popitem(last=False)  # closed once its last cursor is gone
                with _SERVED_LOCK:
                    _SERVED.pop(evicted, None)
        _LAKES.move_to_end(key)
        return database


_SERVED: dict[tuple[str, str, int], dict[str, LakeTable | None]] = {}  # per database: name → cached table
_SERVED_LOCK = threading.Lock()


def serve_tables(
    database: duckdb.DuckDBPyConnection, tables: tuple[LakeTable, ...], cache_rows: int, key: tuple[str, str, int]
) -> None:
    """Make each version nameable in the process's database, once: a table in memory with an index on its key
    while the cache has room (``SLUICE_SERVING_CACHE_ROWS``: a key lookup then reads a few rows, not a
    100 000-row group of the Parquet file), else a view over the file. Loading a newer version of a resource
    turns its older cached version back into a view, returning the room."""
    with _SERVED_LOCK:
        served = _SERVED.setdefault(key, {})
        for table in tables:
            if table.name in served:
                continue
            con = database.cursor()
            try:
                for name, older in list(served.items()):
                    if older is not None and older.resource == table.resource:
                        con.execute(f"DROP TABLE {_ident(name)}")
                        con.execute(f"CREATE VIEW {_ident(name)} AS SELECT * FROM read_parquet({_text(older.path)})")
                        served[name] = None
                used = sum(t.rows for t in served.values() if t is not None)
                if 0 < table.rows <= cache_rows - used:
                    con.execute(f"CREATE TABLE {_ident(table.name)} AS SELECT * FROM read_parquet({_text(table.path)})")
                    if table.key:
                        columns = ", ".join(_ident(c) for c in table.key)
                        con.execute(f"CREATE INDEX {_ident(table.name + '_key')} ON {_ident(table.name)} ({columns})")
                    served[table.name] = table
                else:
                    con.execute(f"CREATE VIEW {_ident(table.name)} AS SELECT * FROM read_parquet({_text(table.path)})")
                    served[table.name] = None
            except duckdb.Error as exc:
                raise Invalid(f"the version of {table.resource} cannot be read: {_first_line(exc)}") from None
            finally:
                con.close()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class DuckDBEngine:
    lake_dir: Path
    tables: tuple[LakeTable, ...] = ()
    cache_rows: int = 0

    def _cursor(self, limits: Limits) -> duckdb.DuckDBPyConnection:
        database = lake_database(self.lake_dir, memory_limit=limits.memory, threads=limits.threads)
        if self.tables:
            key = (str(self.lake_dir.resolve()), limits.memory, int(limits.threads))
            serve_tables(database, self.tables, self.cache_rows, key)
        return database.cursor()

    def batches(self, sql: str, limits: Limits) -> Iterator[pa.RecordBatch]:
        con = self._cursor(limits)
        with _guarded(con, limits):
            reader = con.sql(_at_most(sql, limits.row_cap + 1)).to_arrow_reader(BATCH_ROWS)
            empty = True
            for batch in reader:
                empty = False
                yield batch
            if empty:  # the columns still count: a CSV of no rows has its header
                yield pa.RecordBatch.from_pylist([], schema=reader.schema)

    def rows(self, sql: str, limits: Limits) -> Answer:
        """The capped answer as Python rows, fetched by DuckDB itself (a point lookup answers in about half the
        time it takes through an Arrow reader: one statement planned once, no Arrow conversion)."""
        con = self._cursor(limits)
        with _guarded(con, limits):
            result = con.execute(_at_most(sql, limits.row_cap + 1))
            columns = [column[0] for column in result.description or []]
            rows = result.fetchall()
        return Answer(columns=columns, rows=rows[: limits.row_cap], truncated=len(rows) > limits.row_cap)

    def copy_to(self, sql: str, limits: Limits, fmt: str, path: Path) -> int:
        """Write the answer (at most ``row_cap`` rows) straight to ``path`` inside the lake with DuckDB's own
        parallel writer (CSV with a header, or Parquet); return the rows written, ``row_cap + 1`` meaning that
        there were more."""
        con = self._cursor(limits)
        options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
        target = str(path).replace("'", "''")
        with _guarded(con, limits):
            row = con.execute(f"COPY ({_at_most(sql, limits.row_cap + 1)}) TO '{target}' ({options})").fetchone()
        return int(row[0]) if row else 0


# --- the department's own databases ---------------------------------------------------------------------


class _DBAPIEngine:
    """Shared by the linked-source engines: stream rows from a DB-API cursor into Arrow batches."""

    dialect: MaskDialect

    def batches(self, sql: str, limits: Limits) -> Iterator[pa.RecordBatch]:
        deadline = time.monotonic() + limits.seconds
        with self._cursor(capped(sql, self.dialect, limits.row_cap + 1), limits) as cursor:
            columns = [str(d[0]) for d in cursor.description or []]
            schema: pa.Schema | None = None
            left = limits.row_cap + 1
            while left > 0:
                try:
                    rows = cursor.fetchmany(min(BATCH_ROWS, left))
                except SluiceError:
                    raise
                except Exception as exc:  # each driver's own errors, turned into ours by _failure
                    raise self._failure(exc, limits) from None
                if not rows:
                    if schema is None:  # no rows at all: the columns still count
                        yield _batch(columns, [], None)
                    return
                left -= len(rows)
                batch = _batch(columns, rows, schema)
                schema = batch.schema
                yield batch
                if time.monotonic() > deadline:
                    raise _too_slow(limits)
            cursor.fetchall()  # the end of the result (the LIMIT leaves nothing more), so the driver is done

    def _cursor(self, sql: str, limits: Limits) -> Any:  # pragma: no cover - each engine defines it
        raise NotImplementedError

    def _failure(self, exc: Exception, limits: Limits) -> SluiceError:
        return Invalid(f"the source database refused the query: {_first_line(exc)}")


class _Cursor:
    """A cursor and the connection it closes, as a context manager; errors while opening are ours."""

    def __init__(self, opener: Callable[[], tuple[Any, Any]], failure: Callable[[Exception], SluiceError]) -> None:
        self.opener = opener
        self.failure = failure
        self.connection: Any = None

    def __enter__(self) -> Any:
        try:
            self.connection, cursor = self.opener()
        except SluiceError:
            raise
        except Exception as exc:
            if self.connection is not None:
                self.connection.close()
            raise self.failure(exc) from None
        return cursor

    def __exit__(self, *exc: object) -> None:
        if self.connection is not None:
            try:
                self.connection.rollback()  # read-only: nothing to keep
            finally:
                self.connection.close()


@dataclass(frozen=True)
class PostgresEngine(_DBAPIEngine):
    url: str
    dialect: MaskDialect = POSTGRES

    def _cursor(self, sql: str, limits: Limits) -> Any:
        import psycopg

        url = make_url(self.url)

        def opener() -> tuple[Any, Any]:
            connection = psycopg.connect(
                host=url.host,
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname=url.database,
                connect_timeout=5,
                options=f"-c statement_timeout={int(limits.seconds * 1000)}",
            )
            connection.read_only = True
            cursor = connection.cursor(name=f"sluice_{uuid.uuid4().hex[:12]}")  # server side: streamed
            cursor.execute(sql.encode("utf-8"))
            return connection, cursor

        return _Cursor(opener, lambda exc: self._failure(exc, limits))

    def _failure(self, exc: Exception, limits: Limits) -> SluiceError:
        import psycopg

        if isinstance(exc, psycopg.errors.QueryCanceled):
            return _too_slow(limits)
        if isinstance(exc, psycopg.OperationalError):
            return Invalid(f"cannot reach the source database: {_first_line(exc)}")
        return super()._failure(exc, limits)


@dataclass(frozen=True)
class MySQLEngine(_DBAPIEngine):
    url: str
    dialect: MaskDialect = MYSQL

    def _cursor(self, sql: str, limits: Limits) -> Any:
        import pymysql
        import pymysql.cursors

        url = make_url(self.url)

        def opener() -> tuple[Any, Any]:
            connection = pymysql.connect(
                host=url.host or "127.0.0.1",
                port=url.port or 3306,
                user=url.username or "",
                password=url.password or "",
                database=url.database,
                charset="utf8mb4",
                connect_timeout=5,
                cursorclass=pymysql.cursors.SSCursor,  # unbuffered: streamed
            )
            cursor = connection.cursor()
            version = _server_version(connection)
            if "mariadb" in version.lower():
                cursor.execute(f"SET SESSION max_statement_time = {float(limits.seconds)!r}")
            else:
                cursor.execute(f"SET SESSION MAX_EXECUTION_TIME = {int(limits.seconds * 1000)}")
            cursor.execute("START TRANSACTION READ ONLY")
            cursor.execute(sql)
            return connection, cursor

        return _Cursor(opener, lambda exc: self._failure(exc, limits))

    def _failure(self, exc: Exception, limits: Limits) -> SluiceError:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in (1969, 3024, 1317):  # MariaDB max_statement_time, MySQL MAX_EXECUTION_TIME, interrupted
            return _too_slow(limits)
        if code in (2003, 1045, 1049):
            return Invalid(f"cannot reach the source database: {_first_line(exc)}")
        return super()._failure(exc, limits)


def _server_version(connection: Any) -> str:
    info = connection.get_server_info()
    return info.decode() if isinstance(info, bytes) else str(info)


@dataclass(frozen=True)
class SQLiteEngine(_DBAPIEngine):
    url: str
    dialect: MaskDialect = SQLITE

    def _cursor(self, sql: str, limits: Limits) -> Any:
        path = Path(make_url(self.url).database or "")
        deadline = time.monotonic() + limits.seconds

        def opener() -> tuple[Any, Any]:
            if not path.is_file():
                raise Invalid(f"the source database file is gone: {path.name}")
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            for name, arity, function in SQLITE_FUNCTIONS:
                connection.create_function(name, arity, function, deterministic=True)
            cursor = connection.cursor()
            cursor.execute(sql)
            return connection, cursor

        return _Cursor(opener, lambda exc: self._failure(exc, limits))

    def _failure(self, exc: Exception, limits: Limits) -> SluiceError:
        if isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc):
            return _too_slow(limits)
        return super()._failure(exc, limits)


def _sqlite_right(text: str | None, count: int | None) -> str | None:
    if text is None or count is None:
        return None
    return text[-count:] if count > 0 else ""


def _sqlite_stars(count: int | None) -> str | None:
    return None if count is None else "*" * max(int(count), 0)


def _sqlite_letters_digits(text: str | None) -> str | None:
    return None if text is None else text.translate(_LETTERS_DIGITS_TEXT)


def _sqlite_sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sqlite_hmac(outer: str, inner: str, text: str | None) -> str | None:
    if text is None:
        return None
    digest = hashlib.sha256(bytes.fromhex(inner) + text.encode("utf-8")).digest()
    return hashlib.sha256(bytes.fromhex(outer) + digest).hexdigest()


SQLITE_FUNCTIONS: list[tuple[str, int, Callable[..., Any]]] = [
    ("sluice_right", 2, _sqlite_right),
    ("sluice_stars", 1, _sqlite_stars),
    ("sluice_letters_digits", 1, _sqlite_letters_digits),
    ("sluice_sha256", 1, _sqlite_sha256),
    ("sluice_hmac", 3, _sqlite_hmac),
    ("floor", 1, lambda x: None if x is None else math.floor(x)),
]


def _at_most(sql: str, most: int) -> str:
    """DuckDB: the governed query (one SELECT, generated by the gateway without comments) as a subquery with a
    LIMIT — by text, as parsing and generating the masked query again would cost more than running it.
    DuckDB keeps the subquery's order."""
    return f"SELECT * FROM ({sql}) AS sluice_capped LIMIT {int(most)}"


def capped(sql: str, dialect: MaskDialect, most: int) -> str:
    """The query with its own top-level LIMIT lowered to ``most`` (or given one): the engine stops early, and
    the driver never has rows left unread. (Not a wrapping subquery: MariaDB drops ORDER BY inside one.)"""
    try:
        tree = parse_one(sql, dialect=dialect.name)
    except Exception:  # not SQL this dialect parses back: let the engine say what is wrong with it
        return sql
    if not isinstance(tree, exp.Query):
        return sql
    limit = tree.args.get("limit")
    current = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(current, exp.Literal) and current.is_int and int(current.name) <= most:
        return sql
    if current is not None and not isinstance(current, exp.Literal):
        tree = exp.select("*").from_(
            exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("sluice_capped")))
        )
    return tree.limit(most).sql(dialect=dialect.name)


# --- helpers ---------------------------------------------------------------------------------------------


def _batch(columns: list[str], rows: list[tuple[Any, ...]], schema: pa.Schema | None) -> pa.RecordBatch:
    """Rows from a driver as one Arrow batch; later batches keep the first one's types (a column that was
    all NULL so far becomes text)."""
    arrays = []
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        wanted = schema.field(i).type if schema is not None else None
        try:
            array = pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            array = pa.array([None if v is None else str(v) for v in values], type=pa.string())
        if array.type == pa.null():
            array = array.cast(pa.string())
        if wanted is not None and array.type != wanted:
            raise Invalid(f"the source's column {name} changes type between rows ({wanted} then {array.type})")
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=_unique(columns))


def _unique(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name in columns:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else f"{name}_{count}")
    return names


@contextlib.contextmanager
def _guarded(con: duckdb.DuckDBPyConnection, limits: Limits) -> Iterator[None]:
    """Run DuckDB work on ``con`` under the time limit (a watchdog interrupts it), turning its failures into
    the gateway's errors; close ``con`` after. Rows, batches and exports all run under it."""
    watchdog = Watchdog(limits.seconds, con.interrupt)
    watchdog.start()
    try:
        yield
    except duckdb.InterruptException:
        raise _too_slow(limits) from None
    except duckdb.OutOfMemoryException:
        raise Exhausted(
            f"the query needs more than the {limits.memory} of memory a query may use; aggregate or narrow it"
        ) from None
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # errors while batches stream arrive through Arrow,
        # as a plain OSError carrying DuckDB's message (its interrupt too); nothing else in here does I/O
        if watchdog.fired:
            raise _too_slow(limits) from None
        if "out of memory" in str(exc).lower():
            raise Exhausted(
                f"the query needs more than the {limits.memory} of memory a query may use; aggregate or narrow it"
            ) from None
        raise Invalid(f"the query failed: {_first_line(exc)}") from None
    finally:
        watchdog.stop()
        con.close()


def _too_slow(limits: Limits) -> Exhausted:
    return Exhausted(f"the query ran past the limit of {limits.seconds:g} s and was stopped; narrow it")


def _size(text: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text.strip(), flags=re.IGNORECASE):
        raise Invalid(f"{text!r} is not a memory size such as 1GB")
    return text.strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
