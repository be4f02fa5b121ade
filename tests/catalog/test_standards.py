"""Data standards: known good and bad values, and the Python and DuckDB forms of each rule agreeing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from sluice.catalog import standards
from sluice.catalog.standards import (
    USCC_CHARS,
    builtin_validators,
    credit_code_check_character,
    resident_id_check_character,
)
from sluice.errors import Invalid


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def sql_verdicts(duck: duckdb.DuckDBPyConnection, name: str, values: list[str | None]) -> list[bool]:
    """Run the validator's SQL over a column of values in one vectorised query — both forms, which must agree:
    the helpers computed where the predicate reads them, and lifted into a projection below it (as ingestion
    runs it)."""
    validator = builtin_validators()[name]
    inline = validator.sql(exp.column("v")).sql(dialect="duckdb")
    lifted = validator.sql(exp.column("v"), {h: exp.column(f"h_{h}") for h in validator.helpers}).sql(dialect="duckdb")
    helpers = "".join(
        f", {expression.sql(dialect='duckdb')} AS h_{h}"
        for h, expression in validator.helper_values(exp.column("v")).items()
    )
    rows = duck.execute(
        f"SELECT {inline}, {lifted} FROM (SELECT v, i{helpers} FROM "
        "(SELECT UNNEST(?::VARCHAR[]) AS v, GENERATE_SUBSCRIPTS(?::VARCHAR[], 1) AS i)) ORDER BY i",
        [values, values],
    ).fetchall()
    assert [r[0] for r in rows] == [r[1] for r in rows], "the lifted form disagrees with the inline one"
    return [bool(r[0]) for r in rows]


def test_the_resident_id_reads_its_digits_from_a_helper() -> None:
    validator = builtin_validators()["gb11643_resident_id"]
    assert set(validator.helpers) == {"digits"}
    lifted = validator.sql(exp.column("v"), {"digits": exp.column("d")}).sql(dialect="duckdb")
    assert "TRY_CAST" not in lifted
    assert lifted.count("d //") == 17
    with pytest.raises(ValueError, match="digits"):  # a helper left out would be read as a column of that name
        validator.sql(exp.column("v"), {})
    assert hash(validator) == hash(builtin_validators()["gb11643_resident_id"])


CASES = {
    "gb11643_resident_id": (
        ["11010519491231002X", "440524188001010014", "110101200001010010"],
        [
            "110105194912310021",
            "11010519491231002x",
            "1101051949123100",
            "110105194902300028",
            "990105194912310020",
            "110105299901010012",
            "11010519491231002Ｘ",
            "",
        ],
    ),
    "gb32100_credit_code": (
        ["91350100M000100Y43", "91110000600037341L"],
        ["91350100M000100Y42", "91350100M000100Y4", "91350100I000100Y43", "91350100m000100Y43"],
    ),
    "gbt2260_division_code": (["110105", "440305", "110000"], ["110199", "000000", "11010", "1101051"]),
    "gbt2261_sex_code": (["0", "1", "2", "9"], ["3", "M", "", "10"]),
    "mobile_number": (["13800138000", "19912345678"], ["12800138000", "1380013800", "+8613800138000", "138001380001"]),
    "luhn_bank_card": (
        ["6222021234567890128", "4111111111111111", "6011000990139424"],
        ["6222021234567890124", "411111111111", "4111-1111-1111-1111"],
    ),
    "gbt7408_date": (
        ["2024-02-29", "1949-10-01"],
        ["2023-02-29", "2024-13-01", "20240101", "2024-1-01", "2024-01-01 ", "0000-01-01"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_values(duck: duckdb.DuckDBPyConnection, name: str) -> None:
    good, bad = CASES[name]
    validator = builtin_validators()[name]
    assert [validator.check(v) for v in good] == [True] * len(good)
    assert [validator.check(v) for v in bad] == [False] * len(bad)
    assert sql_verdicts(duck, name, [*good, *bad]) == [True] * len(good) + [False] * len(bad)


def test_null_is_not_valid_in_sql(duck: duckdb.DuckDBPyConnection) -> None:
    for name in CASES:
        assert sql_verdicts(duck, name, [None]) == [False]


def test_the_documented_wrong_example_is_wrong_and_its_fix_is_right() -> None:
    assert resident_id_check_character("11010519491231002") == "X"
    assert credit_code_check_character("91350100M000100Y4") == "3"


def test_a_birth_date_in_the_future_is_refused(duck: duckdb.DuckDBPyConnection) -> None:
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    first17 = f"110105{tomorrow}001"
    value = first17 + resident_id_check_character(first17)
    assert not standards.is_resident_id(value)
    assert sql_verdicts(duck, "gb11643_resident_id", [value]) == [False]


# --- property tests: the Python rule and the SQL rule agree on arbitrary and near-valid input ------------

births = st.dates(min_value=date(1870, 1, 1), max_value=date(2025, 12, 31))


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "440305", "990101", "650102", "710000", "000000"]))
    first17 = region + draw(births).strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    value = first17 + resident_id_check_character(first17)
    if draw(st.booleans()):  # corrupt one character
        position = draw(st.integers(0, 17))
        value = value[:position] + draw(st.sampled_from("0123456789Xx ")) + value[position + 1 :]
    return value


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    first17 = "".join(draw(st.lists(st.sampled_from(USCC_CHARS), min_size=17, max_size=17)))
    value = first17 + credit_code_check_character(first17)
    if draw(st.booleans()):
        position = draw(st.integers(0, 17))
        value = value[:position] + draw(st.sampled_from(USCC_CHARS + "IOZSVa")) + value[position + 1 :]
    return value


STRATEGIES = {
    "gb11643_resident_id": st.one_of(resident_ids(), st.text(max_size=20)),
    "gb32100_credit_code": st.one_of(credit_codes(), st.text(max_size=20)),
    "luhn_bank_card": st.one_of(st.from_regex(r"[0-9]{12,20}", fullmatch=True), st.text(max_size=20)),
    "mobile_number": st.one_of(st.from_regex(r"1[0-9]{9,11}", fullmatch=True), st.text(max_size=12)),
    "gbt7408_date": st.one_of(st.from_regex(r"[0-9]{4}-[0-1][0-9]-[0-3][0-9]", fullmatch=True), st.text(max_size=11)),
    "gbt2260_division_code": st.one_of(st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), st.text(max_size=7)),
    "gbt2261_sex_code": st.text(max_size=2),
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_python_and_sql_agree(duck: duckdb.DuckDBPyConnection, name: str) -> None:
    validator = builtin_validators()[name]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(STRATEGIES[name], min_size=1, max_size=40))
    def agree(values: list[str]) -> None:
        clean = [v.replace("\x00", "") for v in values]
        assert sql_verdicts(duck, name, list(clean)) == [validator.check(v) for v in clean]

    agree()


def test_a_pattern_that_re2_cannot_run_is_refused() -> None:
    with pytest.raises(Invalid, match="RE2"):
        standards.pattern_validator("x", r"(a)\1")
    with pytest.raises(Invalid, match="not a valid regular expression"):
        standards.pattern_validator("x", r"([")


def test_a_pattern_validator_checks_full_matches(duck: duckdb.DuckDBPyConnection) -> None:
    validator = standards.pattern_validator("plate", r"[京沪粤][A-Z][0-9A-Z]{5}")
    assert validator.check("京A12345")
    assert not validator.check("京A123456")
    sql = validator.sql(exp.column("v")).sql(dialect="duckdb")
    assert duck.execute(f"SELECT {sql} FROM (SELECT '京A12345' AS v)").fetchone() == (True,)
