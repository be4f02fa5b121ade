"""Every mask on every engine gives what it gives on DuckDB (whose outputs tests/gateway/test_masks.py pins to
hand-written values): the same characters kept, the same stars, the same HMAC, the same generalised dates and
ranges, NULL for NULL. A mask that leaks on one engine (FACTS.md: a negative SUBSTR start on PostgreSQL
returns the whole string; ``||`` is OR on MySQL) differs from DuckDB here."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlglot import exp

from sluice.gateway import engines
from sluice.gateway.masks import DIALECTS, MaskDialect, MaskKind, mask, pseudonym
from sluice.settings import Settings as PlatformSettings
from tests.source_dbs import mysql_database, postgres_database

KEY = b"a grant's pseudonym key, 32 byte"
ROWS = [
    (1, "11010519491231002X", date(1949, 12, 31), 137.5),
    (2, "张三", date(2000, 2, 29), -1.0),
    (3, "欧阳修", date(1999, 1, 1), 0.0),
    (4, "13800138000", date(2024, 7, 15), 49.99),
    (5, "Ab12-中", date(1970, 1, 1), 50.0),
    (6, "1234567", date(2026, 11, 28), 1e6),
    (7, "", date(2026, 1, 31), 12.0),
    (8, None, None, None),
]
TEXT_MASKS = [
    MaskKind.MASK,
    MaskKind.MASK_SHOW_LAST_4,
    MaskKind.MASK_SHOW_FIRST_4,
    MaskKind.MASK_HASH,
    MaskKind.MASK_NULL,
    MaskKind.MASK_NONE,
    MaskKind.ID_REGION_BIRTH_YEAR,
    MaskKind.NAME_SURNAME,
    MaskKind.PHONE_3_4,
    MaskKind.PSEUDONYM,
]
DATE_MASKS = [MaskKind.MASK_DATE_SHOW_YEAR, MaskKind.DATE_YEAR, MaskKind.DATE_MONTH]
assert {*TEXT_MASKS, *DATE_MASKS, MaskKind.NUMBER_RANGE} == set(MaskKind)  # a new mask must be added here


def masked_select(dialect: MaskDialect, table: exp.Expr, *, bulk: bool = False) -> str:
    columns: list[exp.Expr] = [exp.column("k")]
    columns += [
        mask(k, exp.column("t"), dialect=dialect, key=KEY, bulk=bulk).as_(f"t_{k.value.lower()}") for k in TEXT_MASKS
    ]
    columns += [mask(k, exp.column("d"), dialect=dialect, bulk=bulk).as_(f"d_{k.value.lower()}") for k in DATE_MASKS]
    columns.append(mask(MaskKind.NUMBER_RANGE, exp.column("x"), dialect=dialect, width=50, bulk=bulk).as_("x_range"))
    return exp.select(*columns).from_(table).order_by("k").sql(dialect=dialect.name)


def plain(value: object) -> object:
    """One form for every driver: dates as ISO dates, numbers as floats (ints stay ints)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float)):
        return float(value)
    return value


def run(engine: engines.Engine, sql: str) -> list[tuple[object, ...]]:
    answer = engines.answer(engine, sql, engines.Limits(row_cap=100, seconds=60))
    return [tuple(plain(v) for v in row) for row in answer.rows]


def _fill(url: str, create: str) -> None:
    made = create_engine(url)
    with made.begin() as connection:
        connection.execute(text(create))
        for k, t, d, x in ROWS:
            connection.execute(text("INSERT INTO people VALUES (:k, :t, :d, :x)"), {"k": k, "t": t, "d": d, "x": x})
    made.dispose()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[object, ...]]]:
    lake = tmp_path_factory.mktemp("lake")
    con = duckdb.connect()
    con.execute("CREATE TABLE people (k INTEGER, t VARCHAR, d DATE, x DOUBLE)")
    con.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", ROWS)
    con.execute(f"COPY people TO '{lake / 'people.parquet'}' (FORMAT parquet)")
    table = exp.Table(this=exp.func("read_parquet", exp.Literal.string(str(lake / "people.parquet"))))
    rows = run(engines.DuckDBEngine(lake), masked_select(DIALECTS["duckdb"], table))
    return lake, rows


def test_the_duckdb_reference_is_what_the_masks_promise(reference: tuple[Path, list[tuple[object, ...]]]) -> None:
    _lake, rows = reference
    by_key = {row[0]: row for row in rows}
    names = ["k", *[k.value for k in TEXT_MASKS], *[k.value for k in DATE_MASKS], "NUMBER_RANGE"]
    first = dict(zip(names, by_key[1], strict=True))
    assert first["ID_REGION_BIRTH_YEAR"] == "1101051949********"
    assert first["PSEUDONYM"] == pseudonym(KEY, "11010519491231002X")
    assert first["MASK_DATE_SHOW_YEAR"] == "1949-01-01"
    assert first["DATE_MONTH"] == "1949-12-01"
    assert first["NUMBER_RANGE"] == 100.0
    assert dict(zip(names, by_key[2], strict=True))["NAME_SURNAME"] == "张*"
    assert dict(zip(names, by_key[4], strict=True))["PHONE_3_4"] == "138****8000"
    assert dict(zip(names, by_key[5], strict=True))["MASK"] == "xxnn-中"
    assert all(value is None for value in by_key[8][1:])


def letters_digits(text: str) -> str:
    """The reference: Python's regular expressions, as the other engines' masks say it."""
    return re.sub("[0-9]", "n", re.sub("[A-Za-z]", "x", text))


def test_the_bulk_form_of_every_mask_gives_the_same(reference: tuple[Path, list[tuple[object, ...]]]) -> None:
    lake, expected = reference
    table = exp.Table(this=exp.func("read_parquet", exp.Literal.string(str(lake / "people.parquet"))))
    for dialect in ("duckdb", "postgres", "mysql", "sqlite", "spark"):  # the bulk SQL differs where a dialect says so
        bulk, lookup = (masked_select(DIALECTS[dialect], table, bulk=form).lower() for form in (True, False))
        assert (bulk != lookup) == (dialect == "duckdb")
    assert "sluice_letters_digits(" in masked_select(DIALECTS["duckdb"], table, bulk=True).lower()
    assert "sluice_letters_digits(" not in masked_select(DIALECTS["duckdb"], table).lower()  # lookups: plain SQL
    assert run(engines.DuckDBEngine(lake), masked_select(DIALECTS["duckdb"], table, bulk=True)) == expected


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.one_of(st.none(), st.text(alphabet=st.sampled_from("aZq09 5-中号楼Ωé\n'%_xn😀\u0800"), max_size=24)),
        min_size=1,
        max_size=20,
    )
)
def test_letters_and_digits_are_masked_as_the_reference_does_in_either_form(texts: list[str | None]) -> None:
    con = duckdb.connect()
    engines.register_functions(con)
    con.execute("CREATE TABLE people (k INTEGER, t VARCHAR)")
    con.executemany("INSERT INTO people VALUES (?, ?)", list(enumerate(texts)))
    for bulk in (False, True):
        form = mask(MaskKind.MASK, exp.column("t"), dialect=DIALECTS["duckdb"], bulk=bulk).sql(dialect="duckdb")
        got = [row[0] for row in con.execute(f"SELECT {form} FROM people ORDER BY k").fetchall()]
        assert got == [None if text is None else letters_digits(text) for text in texts]


def test_the_letters_and_digits_function_keeps_every_arrow_layout_apart() -> None:
    texts = ["Ab12-中", None, "", "楼😀9z", "x1"]
    expected = [None if t is None else letters_digits(t) for t in texts]
    plain_array = pa.array(texts, pa.string())
    assert engines.duckdb_letters_digits(plain_array).to_pylist() == expected
    sliced = plain_array.slice(1, 3)  # an offset into buffers shared with the whole array
    assert engines.duckdb_letters_digits(sliced).to_pylist() == expected[1:4]
    chunked = pa.chunked_array([texts[:2], texts[2:]], pa.string())
    assert engines.duckdb_letters_digits(chunked).to_pylist() == expected
    views = pa.chunked_array([texts[:2], texts[2:]], pa.string_view())
    assert engines.duckdb_letters_digits(views).to_pylist() == expected
    assert engines.duckdb_letters_digits(pa.chunked_array([], pa.string())).to_pylist() == []
    assert engines.duckdb_letters_digits(pa.array(texts, pa.large_string())).to_pylist() == expected
    assert engines.duckdb_letters_digits(pa.array(texts, pa.string_view())).to_pylist() == expected
    assert engines.duckdb_letters_digits(pa.array([None, None], pa.string())).to_pylist() == [None, None]
    assert plain_array.to_pylist() == texts  # the input is left as it was


def test_over_a_million_rows_the_lake_masks_every_value_in_batches(tmp_path: Path) -> None:
    con = duckdb.connect()
    engines.register_functions(con)
    form = mask(MaskKind.MASK, exp.column("t"), dialect=DIALECTS["duckdb"], bulk=True).sql(dialect="duckdb")
    different = con.execute(
        f"SELECT COUNT(*) FROM (SELECT 'Rm' || i || '室楼' AS t FROM range(1000000) r(i)) "
        f"WHERE {form} IS DISTINCT FROM regexp_replace(regexp_replace(t, '[A-Za-z]', 'x', 'g'), '[0-9]', 'n', 'g')"
    ).fetchone()
    assert different == (0,)


@pytest.fixture
def postgres_people() -> Iterator[engines.Engine]:
    with postgres_database() as url:
        _fill(url, "CREATE TABLE people (k INTEGER, t TEXT, d DATE, x DOUBLE PRECISION)")
        yield engines.PostgresEngine(url)


@pytest.fixture
def mysql_people() -> Iterator[engines.Engine]:
    with mysql_database() as url:
        _fill(url, "CREATE TABLE people (k INTEGER, t VARCHAR(100), d DATE, x DOUBLE)")
        yield engines.MySQLEngine(url)


@pytest.fixture
def sqlite_people(tmp_path: Path) -> engines.Engine:
    path = tmp_path / "people.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (k INTEGER, t TEXT, d TEXT, x REAL)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?)", [(k, t, d.isoformat() if d else None, x) for k, t, d, x in ROWS]
    )
    con.commit()
    con.close()
    return engines.SQLiteEngine(f"sqlite:///{path}")


@pytest.mark.parametrize(
    ("dialect", "fixture"),
    [("postgres", "postgres_people"), ("mysql", "mysql_people"), ("sqlite", "sqlite_people")],
)
def test_every_mask_gives_the_same_on_each_department_database(
    reference: tuple[Path, list[tuple[object, ...]]], dialect: str, fixture: str, request: pytest.FixtureRequest
) -> None:
    engine = request.getfixturevalue(fixture)
    _lake, expected = reference
    assert run(engine, masked_select(DIALECTS[dialect], exp.to_table("people"))) == expected


@pytest.mark.spark
@pytest.mark.usefixtures("spark_ready")
def test_every_mask_gives_the_same_on_spark(reference: tuple[Path, list[tuple[object, ...]]], tmp_path: Path) -> None:
    from sluice.gateway.spark import SparkEngine

    lake, expected = reference
    engine = SparkEngine(
        PlatformSettings(data_dir=tmp_path / "data"), {"people_masks_test": str(lake / "people.parquet")}
    )
    assert run(engine, masked_select(DIALECTS["spark"], exp.to_table("people_masks_test"))) == expected
