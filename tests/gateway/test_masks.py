"""Masks, run in DuckDB: each one's output, NULL in → NULL out, and the keyed pseudonym equal to HMAC-SHA256."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from sluice.gateway.engines import register_functions
from sluice.gateway.masks import MaskKind, mask, pseudonym

KEY = bytes(range(32))


def lake_connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the functions the lake's masks call."""
    con = duckdb.connect()
    register_functions(con)
    return con


def run(kind: MaskKind, value: object, *, key: bytes = KEY, width: float | None = None) -> object:
    sql = mask(kind, exp.column("v"), key=key, width=width).sql(dialect="duckdb")
    row = lake_connection().execute(f"SELECT {sql} FROM (SELECT ? AS v)", [value]).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (MaskKind.MASK, "Ab12-中", "xxnn-中"),
        (MaskKind.MASK_SHOW_LAST_4, "11010519491231002X", "**************002X"),
        (MaskKind.MASK_SHOW_FIRST_4, "11010519491231002X", "1101**************"),
        (MaskKind.MASK_NONE, "13800138000", "13800138000"),
        (MaskKind.ID_REGION_BIRTH_YEAR, "11010519491231002X", "1101051949********"),
        (MaskKind.NAME_SURNAME, "欧阳修", "欧**"),
        (MaskKind.NAME_SURNAME, "张三", "张*"),
        (MaskKind.PHONE_3_4, "13800138000", "138****8000"),
        (MaskKind.PHONE_3_4, "1234567", "*******"),  # too short to show 3 + 4 without showing it all
        (MaskKind.MASK_HASH, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_each_mask_gives_what_its_name_promises(kind: MaskKind, value: str, expected: str) -> None:
    assert run(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (MaskKind.MASK_DATE_SHOW_YEAR, date(1949, 1, 1)),
        (MaskKind.DATE_YEAR, 1949),
        (MaskKind.DATE_MONTH, date(1949, 12, 1)),
    ],
)
def test_date_masks_generalise_a_date(kind: MaskKind, expected: object) -> None:
    assert run(kind, date(1949, 12, 31)) == expected


def test_number_range_keeps_the_start_of_the_range() -> None:
    assert run(MaskKind.NUMBER_RANGE, 137.5, width=50) == 100.0
    assert run(MaskKind.NUMBER_RANGE, -1, width=50) == -50.0


@pytest.mark.parametrize("kind", [k for k in MaskKind if k is not MaskKind.NUMBER_RANGE])
def test_every_mask_maps_null_to_null(kind: MaskKind) -> None:
    sql = mask(kind, exp.column("v"), key=KEY).sql(dialect="duckdb")
    column_type = (
        "DATE" if kind in (MaskKind.MASK_DATE_SHOW_YEAR, MaskKind.DATE_YEAR, MaskKind.DATE_MONTH) else "VARCHAR"
    )
    row = lake_connection().execute(f"SELECT {sql} FROM (SELECT CAST(NULL AS {column_type}) AS v)").fetchone()
    assert row == (None,)


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_the_pseudonym_in_sql_is_hmac_sha256_with_the_grant_key(value: str) -> None:
    assert run(MaskKind.PSEUDONYM, value) == pseudonym(KEY, value)


def test_pseudonyms_are_stable_within_a_grant_and_differ_across_grants() -> None:
    assert run(MaskKind.PSEUDONYM, "11010519491231002X") == run(MaskKind.PSEUDONYM, "11010519491231002X")
    other = run(MaskKind.PSEUDONYM, "11010519491231002X", key=b"another grant's key, 32 bytes..")
    assert other != run(MaskKind.PSEUDONYM, "11010519491231002X")


def test_a_long_key_is_hashed_first_as_hmac_requires() -> None:
    long_key = b"k" * 100
    assert run(MaskKind.PSEUDONYM, "x", key=long_key) == pseudonym(long_key, "x")
