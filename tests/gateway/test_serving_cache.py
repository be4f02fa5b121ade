"""The serving cache: a lake version is loaded once per process into the locked database, indexed by its key,
while the cache has room; otherwise (or when turned off) it is a view over its Parquet file. Both answer the
same; a newer version of a resource gives its older version's room back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sluice.gateway import engines

LIMITS = engines.Limits(row_cap=100, seconds=10)


def version(lake: Path, name: str, rows: int, resource: str = "psb.residents") -> engines.LakeTable:
    path = lake / f"{name}.parquet"
    duckdb.sql(
        f"COPY (SELECT printf('%06d', range) AS id, range * 2 AS v FROM range({rows})) TO '{path}' (FORMAT parquet)"
    )
    return engines.LakeTable(name=name, path=str(path), resource=resource, rows=rows, key=("id",))


def kinds(lake: Path) -> dict[str, str]:
    con = engines.lake_database(lake, memory_limit=LIMITS.memory, threads=LIMITS.threads).cursor()
    tables = {name: "table" for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    views = {
        name: "view" for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    }
    return {**tables, **views}


@pytest.mark.parametrize("cache_rows", [0, 1_000])
def test_a_version_answers_the_same_cached_or_not(tmp_path: Path, cache_rows: int) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    first = version(lake, "sluice_v1", 500)
    engine = engines.DuckDBEngine(lake, (first,), cache_rows)
    answer = engines.answer(engine, "SELECT v FROM sluice_v1 WHERE id = '000042'", LIMITS)
    assert answer.rows == [(84,)]
    assert kinds(lake) == {"sluice_v1": "table" if cache_rows else "view"}


def test_the_cache_keeps_to_its_size_and_a_newer_version_takes_its_predecessor_s_room(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    one, two, other = (
        version(lake, "sluice_v1", 600),
        version(lake, "sluice_v2", 600),
        version(lake, "sluice_v3", 600, "x.y"),
    )
    engines.answer(engines.DuckDBEngine(lake, (one,), 1_000), "SELECT count(*) FROM sluice_v1", LIMITS)
    engines.answer(engines.DuckDBEngine(lake, (other,), 1_000), "SELECT count(*) FROM sluice_v3", LIMITS)
    assert kinds(lake) == {"sluice_v1": "table", "sluice_v3": "view"}  # no room left for another 600 rows
    answer = engines.answer(engines.DuckDBEngine(lake, (two,), 1_000), "SELECT count(*) FROM sluice_v2", LIMITS)
    assert answer.rows == [(600,)]
    assert kinds(lake) == {"sluice_v1": "view", "sluice_v2": "table", "sluice_v3": "view"}
    still = engines.answer(engines.DuckDBEngine(lake, (one,), 1_000), "SELECT count(*) FROM sluice_v1", LIMITS)
    assert still.rows == [(600,)]  # the older version stays readable, from its file
