"""Rules 2–3 where the data stays in its department's database: the same bypass attempts and the same property
as tests/gateway/test_rewrite.py, with the raw rows in PostgreSQL (and MariaDB, and SQLite) and the governed
query transpiled to that engine — compared with the consumer's query run untouched, in DuckDB, on the rows
the grant allows computed by hand.

On PostgreSQL every attempt must give exactly the reference answer. MariaDB and SQLite lack some of what a
consumer may write in DuckDB's SQL (LATERAL, some functions): there an attempt may also be refused as invalid
— but never answered with anything the grant does not allow.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from sluice.errors import Invalid
from sluice.gateway import engines
from sluice.gateway.masks import DIALECTS
from sluice.gateway.policy import check_query
from sluice.gateway.rewrite import GrantedView, check_physical, govern
from tests.gateway.test_rewrite import BYPASS_ATTEMPTS, FIELDS, RAW, VIEW, by_hand
from tests.source_dbs import mysql_database, postgres_database

Source = tuple[str, engines.Engine]


def _fill(url: str, create: str) -> None:
    made = create_engine(url)
    with made.begin() as connection:
        connection.execute(text(create))
        for row in RAW:
            connection.execute(
                text("INSERT INTO residents_raw VALUES (:a, :b, :c, :d, :e)"), dict(zip("abcde", row, strict=True))
            )
    made.dispose()


@pytest.fixture(scope="module")
def expected() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA psb")
    con.execute("CREATE TABLE psb.residents (id_number VARCHAR, name VARCHAR, gender VARCHAR, division_code VARCHAR)")
    con.executemany("INSERT INTO psb.residents VALUES (?, ?, ?, ?)", by_hand())
    return con


@pytest.fixture(scope="module")
def postgres() -> Iterator[Source]:
    with postgres_database() as url:
        columns = ", ".join(f'{f} TEXT COLLATE "C"' for f in FIELDS)  # byte order, as DuckDB sorts
        _fill(url, f"CREATE TABLE residents_raw ({columns})")
        yield "postgres", engines.PostgresEngine(url)


@pytest.fixture(scope="module")
def mysql() -> Iterator[Source]:
    with mysql_database() as url:
        _fill(url, f"CREATE TABLE residents_raw ({', '.join(f + ' VARCHAR(50)' for f in FIELDS)})")
        yield "mysql", engines.MySQLEngine(url)


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Source:
    path: Path = tmp_path_factory.mktemp("department") / "people.db"
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE residents_raw ({', '.join(FIELDS)})")
    con.executemany("INSERT INTO residents_raw VALUES (?, ?, ?, ?, ?)", RAW)
    con.commit()
    con.close()
    return "sqlite", engines.SQLiteEngine(f"sqlite:///{path}")


def through_gateway(source: Source, sql: str) -> list[tuple[object, ...]]:
    name, engine = source
    dialect = DIALECTS[name]
    views = {"psb.residents": VIEW}
    governed = govern(check_query(sql, lambda code: code == "psb.residents"), views, dialect).sql(dialect=name)
    check_physical(governed, dialect, views)
    return engines.answer(engine, governed, engines.Limits(row_cap=1000, seconds=30)).rows


def assert_nothing_beyond_the_grant(got: list[tuple[object, ...]]) -> None:
    shown = repr(got)
    for id_number, name, _gender, division, phone in RAW:
        assert id_number not in shown
        assert phone not in shown
        assert division != "440305" or division not in shown
        assert len(name) == 1 or name not in shown


@pytest.mark.parametrize("sql", BYPASS_ATTEMPTS)
def test_on_postgresql_every_path_returns_only_masked_filtered_rows(
    postgres: Source, expected: duckdb.DuckDBPyConnection, sql: str
) -> None:
    got = through_gateway(postgres, sql)
    assert Counter(map(repr, got)) == Counter(map(repr, expected.execute(sql).fetchall()))
    assert_nothing_beyond_the_grant(got)


@pytest.mark.parametrize("sql", BYPASS_ATTEMPTS)
@pytest.mark.parametrize("engine", ["mysql", "sqlite"])
def test_on_mariadb_and_sqlite_an_attempt_is_answered_within_the_grant_or_refused(
    engine: str, expected: duckdb.DuckDBPyConnection, sql: str, request: pytest.FixtureRequest
) -> None:
    source: Source = request.getfixturevalue(engine)
    try:
        got = through_gateway(source, sql)
    except Invalid:
        return  # this engine cannot say it: refused, which leaks nothing
    assert_nothing_beyond_the_grant(got)
    if "string_agg" not in sql:  # the order of an aggregated string is the engine's to choose
        assert Counter(map(repr, got)) == Counter(map(repr, expected.execute(sql).fetchall()))


COLUMNS = st.lists(
    st.sampled_from(("id_number", "name", "gender", "division_code")), min_size=1, max_size=4, unique=True
)
FILTERS = st.sampled_from(
    ["", "WHERE gender = '1'", "WHERE gender = '2'", "WHERE division_code LIKE '11010%'", "WHERE name LIKE '张%'"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(columns=COLUMNS, where=FILTERS, grouped=st.booleans(), limit=st.sampled_from(["", "LIMIT 2"]))
def test_on_postgresql_random_granted_queries_equal_the_same_query_on_the_premasked_table(
    postgres: Source,
    expected: duckdb.DuckDBPyConnection,
    columns: list[str],
    where: str,
    grouped: bool,
    limit: str,
) -> None:
    listed = ", ".join(columns)
    order = ", ".join(str(i + 1) for i in range(len(columns) + grouped))
    if grouped:
        sql = f"SELECT {listed}, count(*) AS n FROM psb.residents {where} GROUP BY {listed} ORDER BY {order} {limit}"
    else:
        sql = f"SELECT {listed} FROM psb.residents {where} ORDER BY {order} {limit}"
    assert through_gateway(postgres, sql) == expected.execute(sql).fetchall()


def test_the_engine_s_sql_may_read_only_the_granted_relations() -> None:
    dialect = DIALECTS["postgres"]
    views: dict[str, GrantedView] = {"psb.residents": VIEW}
    check_physical('SELECT * FROM (SELECT "name" FROM residents_raw) AS "r"', dialect, views)
    with pytest.raises(Exception, match="only the resources it names"):
        check_physical("SELECT * FROM residents_raw, pg_catalog.pg_shadow", dialect, views)
    with pytest.raises(Exception, match="only the resources it names"):
        check_physical("WITH x AS (SELECT 1) SELECT * FROM x JOIN secrets ON TRUE", dialect, views)
