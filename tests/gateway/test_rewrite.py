"""Rules 2–3: queries see only granted fields, masked, of rows the grant's filter keeps — at every depth.

The reference is independent of the rewrite: the rows a consumer should see are computed in Python
(masks and filter by hand) and stored as a plain table ``psb.residents`` in a second DuckDB; the consumer's
query, run there untouched, must give what the gateway's rewritten query gives over the raw rows."""

from __future__ import annotations

from collections import Counter

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp, parse_one

from sluice.errors import Forbidden, Invalid
from sluice.gateway.masks import MaskKind
from sluice.gateway.policy import check_query
from sluice.gateway.rewrite import GrantedView, Masking, govern

RAW = [
    ("11010519491231002X", "张三", "1", "110105", "13800138000"),
    ("110105199003071239", "李四", "1", "110105", "13900139000"),
    ("440305198811110016", "王五", "2", "440305", "13700137000"),
    ("110108200001010011", "欧阳修", "2", "110108", "13600136000"),
    ("110101197505050055", "赵六", "1", "110101", "13500135000"),
]
FIELDS = ("id_number", "name", "gender", "division_code", "phone")
GRANTED = ("id_number", "name", "gender", "division_code")  # not phone


def by_hand() -> list[tuple[str, str, str, str]]:
    """What the grant allows, computed without SQL: rows of 1101…, ID keeping region + birth year, surname."""
    return [(i[:10] + "*" * 8, n[0] + "*" * (len(n) - 1), g, d) for i, n, g, d, _ in RAW if d.startswith("1101")]


@pytest.fixture(scope="module")
def engines() -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]:
    raw = duckdb.connect()
    raw.execute(
        "CREATE TABLE residents_raw (id_number VARCHAR, name VARCHAR, gender VARCHAR, division_code VARCHAR, phone VARCHAR)"
    )
    raw.executemany("INSERT INTO residents_raw VALUES (?, ?, ?, ?, ?)", RAW)
    expected = duckdb.connect()
    expected.execute("CREATE SCHEMA psb")
    expected.execute(
        "CREATE TABLE psb.residents (id_number VARCHAR, name VARCHAR, gender VARCHAR, division_code VARCHAR)"
    )
    expected.executemany("INSERT INTO psb.residents VALUES (?, ?, ?, ?)", by_hand())
    return raw, expected


VIEW = GrantedView(
    code="psb.residents",
    relation=exp.to_table("residents_raw"),
    fields=dict.fromkeys(GRANTED, "VARCHAR"),
    all_fields=frozenset(FIELDS),
    masks={"id_number": Masking(MaskKind.ID_REGION_BIRTH_YEAR), "name": Masking(MaskKind.NAME_SURNAME)},
    row_filter=parse_one("division_code LIKE '1101%'", dialect="duckdb"),
)


def through_gateway(raw: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    governed = govern(check_query(sql, lambda code: code == "psb.residents"), {"psb.residents": VIEW})
    return raw.execute(governed.sql(dialect="duckdb")).fetchall()


BYPASS_ATTEMPTS = [
    "SELECT * FROM psb.residents",
    "SELECT * FROM psb.residents WHERE id_number LIKE '110105194912%'",  # a predicate on the raw value
    "SELECT * FROM psb.residents WHERE id_number = '11010519491231002X'",
    "SELECT name FROM psb.residents WHERE name = '张三'",
    "SELECT * FROM psb.residents WHERE division_code = '440305'",  # a row outside the filter
    "WITH x AS (SELECT * FROM psb.residents) SELECT * FROM x",
    "WITH x AS (SELECT id_number FROM psb.residents), y AS (SELECT * FROM x) SELECT * FROM y",
    "SELECT * FROM (SELECT * FROM (SELECT * FROM psb.residents) a) b",
    "SELECT id_number FROM psb.residents UNION ALL SELECT id_number FROM psb.residents",
    "SELECT name FROM psb.residents EXCEPT SELECT name FROM psb.residents WHERE gender = '2'",
    "SELECT a.id_number, b.name FROM psb.residents a JOIN psb.residents b ON a.id_number = b.id_number",
    "SELECT r.name, x.n FROM psb.residents r, LATERAL (SELECT r.id_number AS n) x",
    "SELECT name, row_number() OVER (ORDER BY id_number) FROM psb.residents",
    "SELECT max(id_number), min(name), count(*) FROM psb.residents",
    "SELECT gender, string_agg(name, ',') FROM psb.residents GROUP BY gender",
    "SELECT substr(id_number, 11, 8) FROM psb.residents",
    "SELECT * FROM psb.residents ORDER BY id_number DESC LIMIT 1",
    "SELECT count(*) FROM psb.residents",
    "SELECT count(*) FROM psb.residents WHERE division_code LIKE '44%' OR TRUE",
    'SELECT "ID_NUMBER" FROM "PSB"."RESIDENTS"',
    "SELECT residents.name FROM psb.residents",
    "SELECT psb.residents.name FROM psb.residents",
]


@pytest.mark.parametrize("sql", BYPASS_ATTEMPTS)
def test_every_path_returns_only_masked_filtered_rows(
    engines: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection], sql: str
) -> None:
    raw, expected = engines
    got = through_gateway(raw, sql)
    assert Counter(map(repr, got)) == Counter(map(repr, expected.execute(sql).fetchall()))
    text = repr(got)
    for id_number, name, _g, division, phone in RAW:
        assert id_number not in text
        assert phone not in text
        assert division != "440305" or division not in text
        assert len(name) == 1 or name not in text


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT phone FROM psb.residents",
        "SELECT name FROM psb.residents WHERE phone = '13800138000'",
        "SELECT name FROM psb.residents ORDER BY phone",
        "SELECT name, row_number() OVER (ORDER BY phone) FROM psb.residents",
        "SELECT a.name FROM psb.residents a JOIN psb.residents b ON a.phone = b.phone",
        "WITH x AS (SELECT phone FROM psb.residents) SELECT * FROM x",
        "SELECT name FROM psb.residents GROUP BY name HAVING max(phone) > '1'",
        "SELECT (SELECT max(phone) FROM psb.residents) AS p FROM psb.residents",
        'SELECT "PHONE" FROM psb.residents',
        "SELECT name FROM psb.residents UNION SELECT phone FROM psb.residents",
    ],
)
def test_a_field_outside_the_grant_is_refused_naming_it(sql: str) -> None:
    with pytest.raises(Forbidden, match=r"the field phone of psb\.residents is not in your grant"):
        govern(check_query(sql, lambda code: code == "psb.residents"), {"psb.residents": VIEW})


def test_an_unknown_field_is_invalid_and_a_resource_without_grant_is_forbidden() -> None:
    with pytest.raises(Invalid, match="no field 'salary'"):
        govern(check_query("SELECT salary FROM psb.residents", lambda c: True), {"psb.residents": VIEW})
    with pytest.raises(Forbidden, match=r"no grant for civil\.marriages"):
        govern(check_query("SELECT * FROM civil.marriages", lambda c: True), {"psb.residents": VIEW})


COLUMNS = st.lists(st.sampled_from(GRANTED), min_size=1, max_size=4, unique=True)
FILTERS = st.sampled_from(
    ["", "WHERE gender = '1'", "WHERE gender = '2'", "WHERE division_code LIKE '11010%'", "WHERE name LIKE '张%'"]
)


@settings(max_examples=80, deadline=None)
@given(columns=COLUMNS, where=FILTERS, grouped=st.booleans(), limit=st.sampled_from(["", "LIMIT 2"]))
def test_random_granted_queries_equal_the_same_query_on_the_premasked_table(
    engines: tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection],
    columns: list[str],
    where: str,
    grouped: bool,
    limit: str,
) -> None:
    raw, expected = engines
    listed = ", ".join(columns)
    if grouped:
        sql = f"SELECT {listed}, count(*) AS n FROM psb.residents {where} GROUP BY {listed} ORDER BY ALL {limit}"
    else:
        sql = f"SELECT {listed} FROM psb.residents {where} ORDER BY ALL {limit}"
    assert through_gateway(raw, sql) == expected.execute(sql).fetchall()
