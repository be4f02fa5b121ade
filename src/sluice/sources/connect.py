"""Reaching a department's database: which URLs are allowed, connecting read-only, reading a table's columns,
and copying a table into DuckDB (as text, like an upload) for validation and profiling.

A linked source is an outbound connection made by the platform on a provider's say-so, so it is guarded like
one: only PostgreSQL, MySQL and SQLite URLs; never the platform's own metadata database; SQLite files only
inside folders the operator lists (``SLUICE_SOURCE_SQLITE_DIRS``), never inside the data folder; and, when
the operator sets ``SLUICE_SOURCE_HOSTS``, only those hosts. Connections time out after a few seconds and
run read-only transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from sluice.errors import Invalid
from sluice.lake.readers import STAGED
from sluice.settings import Settings

DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "sqlite": "sqlite"}
CONNECT_TIMEOUT = 5
BATCH = 50_000


@dataclass(frozen=True)
class SourceTable:
    columns: list[str]
    types: dict[str, str]  # column → DuckDB-style type family, for the drift check


def parse_source_url(text: str, settings: Settings) -> URL:
    """The URL, normalised to a driver Sluice ships, or a clear refusal."""
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise Invalid(
            "the connection is not a database URL (e.g. postgresql://user:pass@host:5432/db)", field="url"
        ) from None
    backend = url.get_backend_name()
    if backend not in DRIVERS:
        raise Invalid(f"linked sources are PostgreSQL, MySQL or SQLite databases, not {backend!r}", field="url")
    url = url.set(drivername=DRIVERS[backend])
    if backend == "sqlite":
        _check_sqlite_path(url, settings)
    else:
        _check_host(url, settings)
    return url


def _check_sqlite_path(url: URL, settings: Settings) -> None:
    if not url.database or url.database == ":memory:":
        raise Invalid("a SQLite source needs the path of its file", field="url")
    path = Path(url.database).resolve()
    if path.is_relative_to(settings.data_dir.resolve()):
        raise Invalid("a SQLite source cannot be a file inside the platform's data folder", field="url")
    allowed = [Path(d).resolve() for d in settings.source_sqlite_dirs]
    if not any(path.is_relative_to(folder) for folder in allowed):
        raise Invalid(
            "SQLite sources must be files in a folder the operator allows (SLUICE_SOURCE_SQLITE_DIRS); this one is not",
            field="url",
        )


def _check_host(url: URL, settings: Settings) -> None:
    if not url.host:
        raise Invalid("the connection names no host", field="url")
    own = make_url(settings.metadata_url)
    if own.get_backend_name() == url.get_backend_name() and (
        (url.host, url.port or 5432, url.database) == (own.host, own.port or 5432, own.database)
    ):
        raise Invalid("a linked source cannot be the platform's own metadata database", field="url")
    if settings.source_hosts and url.host not in settings.source_hosts:
        raise Invalid(
            f"the operator allows linked sources only on {', '.join(settings.source_hosts)}; not {url.host}",
            field="url",
        )


def source_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() in ("postgresql", "mysql"):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def describe_table(engine: Engine, table: str, schema: str | None) -> SourceTable:
    """The table's columns and their type families; refuse an unreachable database or a missing table."""
    try:
        columns = inspect(engine).get_columns(table, schema=schema)
    except NoSuchTableError:
        raise Invalid(
            f"the source has no table {table!r}" + (f" in schema {schema!r}" if schema else ""), field="table"
        ) from None
    except SQLAlchemyError as exc:
        raise Invalid(f"cannot reach the source database: {_first_line(exc)}", field="url") from None
    if not columns:
        raise Invalid(f"the source has no table {table!r}", field="table")
    names = [str(c["name"]) for c in columns]
    return SourceTable(columns=names, types={str(c["name"]): _family(c["type"]) for c in columns})


def stage_table(
    con: duckdb.DuckDBPyConnection, engine: Engine, table: str, schema: str | None, columns: list[str]
) -> int:
    """Copy the table into DuckDB's ``staged`` as text (streamed in batches, read-only); return the row count."""
    con.execute(f"CREATE TABLE {STAGED} ({', '.join(_quote(c) + ' VARCHAR' for c in columns)})")
    source = Table(table, MetaData(), schema=schema, autoload_with=engine)
    query = select(*[source.c[c] for c in columns])
    total = 0
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(query)
            for batch in result.partitions():
                arrays = [pa.array([_text(row[i]) for row in batch], type=pa.string()) for i in range(len(columns))]
                chunk = pa.Table.from_arrays(arrays, names=columns)
                con.register("source_batch", chunk)
                con.execute(f"INSERT INTO {STAGED} SELECT * FROM source_batch")
                con.unregister("source_batch")
                total += len(batch)
    except SQLAlchemyError as exc:
        raise Invalid(f"reading the source failed: {_first_line(exc)}", field="url") from None
    if total == 0:
        raise Invalid(f"the source table {table!r} is empty: there is nothing to check")
    return total


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _family(kind: Any) -> str:
    if isinstance(kind, sqltypes.Boolean):
        return "BOOLEAN"
    if isinstance(kind, sqltypes.Integer):
        return "BIGINT"
    if isinstance(kind, sqltypes.Float):
        return "DOUBLE"
    if isinstance(kind, sqltypes.Numeric):
        return "DECIMAL"
    if isinstance(kind, sqltypes.DateTime):
        return "TIMESTAMP"
    if isinstance(kind, sqltypes.Date):
        return "DATE"
    return "VARCHAR"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
