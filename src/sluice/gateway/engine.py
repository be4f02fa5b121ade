"""The embedded engine: DuckDB over the lake's Parquet files, locked down for each query.

A fresh in-memory connection per query: only the lake folder is readable (``allowed_directories``), no
other external access, configuration locked (FACTS.md: set in this order, views and ``read_parquet``
inside the lake keep working, any other path fails). A timer interrupts a query past its time limit; rows
are fetched one more than the cap, to say whether the answer was truncated.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp, parse_one

from sluice.errors import Exhausted, Invalid


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def locked_connection(lake_dir: Path, *, memory_limit: str = "1GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET allowed_directories = ?", [[str(lake_dir.resolve()) + "/"]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def run(sql: str, lake_dir: Path, *, row_cap: int, seconds: float) -> Answer:
    """Execute a governed query; refuse it past ``seconds``; return at most ``row_cap`` rows."""
    con = locked_connection(lake_dir)
    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(row_cap + 1)
    except duckdb.InterruptException:
        raise Exhausted(f"the query ran past the limit of {seconds:g} s and was stopped; narrow it") from None
    except duckdb.Error as exc:
        raise Invalid(f"the query failed: {str(exc).splitlines()[0]}") from None
    finally:
        timer.cancel()
        con.close()
    return Answer(columns=columns, rows=rows[:row_cap], truncated=len(rows) > row_cap)


def run_arrow(sql: str, lake_dir: Path, *, row_cap: int, seconds: float) -> tuple[pa.Table, bool]:
    """Execute a governed query into an Arrow table of at most ``row_cap`` rows, and whether it was cut."""
    con = locked_connection(lake_dir)
    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        capped = exp.select("*").from_(exp.Subquery(this=parse_one(sql, dialect="duckdb"))).limit(int(row_cap) + 1)
        table: pa.Table = con.sql(capped.sql(dialect="duckdb")).to_arrow_table()
    except duckdb.InterruptException:
        raise Exhausted(f"the query ran past the limit of {seconds:g} s and was stopped; narrow it") from None
    except duckdb.Error as exc:
        raise Invalid(f"the query failed: {str(exc).splitlines()[0]}") from None
    finally:
        timer.cancel()
        con.close()
    return table.slice(0, row_cap), table.num_rows > row_cap
