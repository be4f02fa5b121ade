"""Masks: what a granted field looks like to its consumer, as SQL trees in the dialect of the engine that
holds the data.

Ranger's eight (``MASK``, ``MASK_SHOW_LAST_4``, ``MASK_SHOW_FIRST_4``, ``MASK_HASH``, ``MASK_NULL``,
``MASK_NONE``, ``MASK_DATE_SHOW_YEAR``, ``CUSTOM`` — the last not offered: a mask must be one we can test)
plus the ones government users need: an identity number keeping its region and birth year, a name keeping
its surname, a phone keeping its first three and last four digits, a keyed pseudonym (HMAC-SHA256 with a
per-grant key: stable inside one grant so joins work, different across consumers), and generalisation
(a date to its year or month, a number to the start of its range). Every mask maps NULL to NULL and never
raises on odd input.

Masks are not transpiled from one dialect to another: each engine's way of saying "the first four
characters", "SHA-256 as hex" or "the first day of the year" is written down here as data
(``MaskDialect``), because transpiling is where masks leak (FACTS.md: a negative ``SUBSTR`` start becomes
``SUBSTRING(x FROM -4)`` on PostgreSQL, which returns the whole string; ``||`` is OR on MySQL). Every mask
is tested on every engine (tests/gateway/test_masks_everywhere.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlglot import exp

from sluice.errors import Invalid

HMAC_BLOCK = 64  # SHA-256's block size in bytes
PLACEHOLDER = "sluice_value"


class MaskKind(StrEnum):
    MASK = "MASK"  # letters → x, digits → n
    MASK_SHOW_LAST_4 = "MASK_SHOW_LAST_4"
    MASK_SHOW_FIRST_4 = "MASK_SHOW_FIRST_4"
    MASK_HASH = "MASK_HASH"  # SHA-256, hex
    MASK_NULL = "MASK_NULL"
    MASK_NONE = "MASK_NONE"
    MASK_DATE_SHOW_YEAR = "MASK_DATE_SHOW_YEAR"  # the date's 1 January
    ID_REGION_BIRTH_YEAR = "ID_REGION_BIRTH_YEAR"  # 110105 1949 ******** (region, birth year)
    NAME_SURNAME = "NAME_SURNAME"  # 张*
    PHONE_3_4 = "PHONE_3_4"  # 138****8000
    PSEUDONYM = "PSEUDONYM"  # HMAC-SHA256(grant key, value), hex
    DATE_YEAR = "DATE_YEAR"  # the year, as a number
    DATE_MONTH = "DATE_MONTH"  # the month's first day
    NUMBER_RANGE = "NUMBER_RANGE"  # floor(value / width) * width


@dataclass(frozen=True)
class MaskDialect:
    """How one engine says each building block of a mask. ``{v}`` is the value, ``{t}`` the value as text,
    ``{n}`` a count of characters (never negative where it is used), ``{a}``/``{b}`` two strings."""

    name: str  # the sqlglot dialect
    text: str
    chars: str  # length in characters, not bytes
    left: str
    right: str
    stars: str
    greatest: str
    concat: str
    letters_digits: str  # letters → x, digits → n
    sha256: str  # lower-case hex of the UTF-8 bytes of {t}
    hmac: str  # lower-case hex of SHA-256(outer ‖ SHA-256(inner ‖ UTF-8 of {t})), {outer}/{inner} in hex
    year_start: str
    year: str
    month_start: str
    number: str
    # Letters → x, digits → n for a whole export, where the mask runs on every row: the same value, in a form that
    # runs faster (empty: ``letters_digits``). On DuckDB it is our Python function, which must take the
    # interpreter's lock for each batch: many concurrent lookups would queue for it, so they keep the SQL form.
    letters_digits_bulk: str = ""


DUCKDB = MaskDialect(
    name="duckdb",
    text="CAST({v} AS VARCHAR)",
    chars="length({t})",
    left="left({t}, {n})",
    right="right({t}, {n})",
    stars="repeat('*', {n})",
    greatest="GREATEST({a}, {b})",
    concat="{a} || {b}",
    letters_digits="regexp_replace(regexp_replace({t}, '[A-Za-z]', 'x', 'g'), '[0-9]', 'n', 'g')",
    sha256="sha256({t})",
    hmac="lower(sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode({t})))))",
    year_start="CAST(date_trunc('year', {v}) AS DATE)",
    year="CAST(year({v}) AS INTEGER)",
    month_start="CAST(date_trunc('month', {v}) AS DATE)",
    number="CAST({v} AS DOUBLE)",
    letters_digits_bulk="sluice_letters_digits({t})",  # ours: engines.duckdb_letters_digits
)

POSTGRES = MaskDialect(
    name="postgres",
    text="CAST({v} AS TEXT)",
    chars="length({t})",
    left="left({t}, {n})",
    right="right({t}, {n})",
    stars="repeat('*', {n})",
    greatest="GREATEST({a}, {b})",
    concat="{a} || {b}",
    letters_digits="regexp_replace(regexp_replace({t}, '[A-Za-z]', 'x', 'g'), '[0-9]', 'n', 'g')",
    sha256="encode(sha256(convert_to({t}, 'UTF8')), 'hex')",
    hmac="encode(sha256(decode('{outer}', 'hex') || sha256(decode('{inner}', 'hex') || convert_to({t}, 'UTF8'))), "
    "'hex')",
    year_start="CAST(date_trunc('year', {v}) AS DATE)",
    year="CAST(EXTRACT(YEAR FROM {v}) AS INTEGER)",
    month_start="CAST(date_trunc('month', {v}) AS DATE)",
    number="CAST({v} AS DOUBLE PRECISION)",
)

MYSQL = MaskDialect(
    name="mysql",
    text="CONVERT(CAST({v} AS CHAR) USING utf8mb4)",
    chars="CHAR_LENGTH({t})",
    left="LEFT({t}, {n})",
    right="RIGHT({t}, {n})",
    stars="REPEAT('*', {n})",
    greatest="GREATEST({a}, {b})",
    concat="CONCAT({a}, {b})",  # || is OR in MySQL
    letters_digits="REGEXP_REPLACE(REGEXP_REPLACE({t}, '[A-Za-z]', 'x'), '[0-9]', 'n')",
    sha256="LOWER(SHA2({t}, 256))",
    hmac="LOWER(SHA2(CONCAT(UNHEX('{outer}'), UNHEX(SHA2(CONCAT(UNHEX('{inner}'), {t}), 256))), 256))",
    year_start="MAKEDATE(YEAR({v}), 1)",
    year="YEAR({v})",
    month_start="DATE_SUB(CAST({v} AS DATE), INTERVAL (DAYOFMONTH({v}) - 1) DAY)",
    number="CAST({v} AS DOUBLE)",
)

SQLITE = MaskDialect(  # the sluice_* functions are registered on each connection (gateway.engines)
    name="sqlite",
    text="CAST({v} AS TEXT)",
    chars="length({t})",
    left="substr({t}, 1, {n})",
    right="sluice_right({t}, {n})",
    stars="sluice_stars({n})",
    greatest="max({a}, {b})",
    concat="{a} || {b}",
    letters_digits="sluice_letters_digits({t})",
    sha256="sluice_sha256({t})",
    hmac="sluice_hmac('{outer}', '{inner}', {t})",
    year_start="date({v}, 'start of year')",
    year="CAST(strftime('%Y', {v}) AS INTEGER)",
    month_start="date({v}, 'start of month')",
    number="CAST({v} AS REAL)",
)

SPARK = MaskDialect(
    name="spark",
    text="CAST({v} AS STRING)",
    chars="char_length({t})",
    left="left({t}, {n})",
    right="right({t}, {n})",
    stars="repeat('*', {n})",
    greatest="GREATEST({a}, {b})",
    concat="concat({a}, {b})",
    letters_digits="regexp_replace(regexp_replace({t}, '[A-Za-z]', 'x'), '[0-9]', 'n')",
    sha256="sha2({t}, 256)",
    hmac="sha2(concat(unhex('{outer}'), unhex(sha2(concat(unhex('{inner}'), encode({t}, 'UTF-8')), 256))), 256)",
    year_start="CAST(trunc({v}, 'YEAR') AS DATE)",
    year="year({v})",
    month_start="CAST(trunc({v}, 'MM') AS DATE)",
    number="CAST({v} AS DOUBLE)",
)

DIALECTS = {d.name: d for d in (DUCKDB, POSTGRES, MYSQL, SQLITE, SPARK)}


def mask(
    kind: MaskKind,
    value: exp.Expr,
    *,
    dialect: MaskDialect = DUCKDB,
    key: bytes | None = None,
    width: float | None = None,
    bulk: bool = False,
) -> exp.Expr:
    """The masked form of ``value`` (a column or any expression) for one kind of mask, in ``dialect``; ``bulk``
    for a whole export (the same values, in the form that runs fastest over many rows)."""
    if kind is MaskKind.MASK_NONE:
        return value.copy()
    if kind is MaskKind.MASK_NULL:
        return _sql(dialect.text.format(v="NULL"), value, dialect)
    masked = _sql(_template(kind, dialect, key=key, width=width, bulk=bulk), value, dialect)
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()), true=exp.null())], default=masked
    )


def _template(kind: MaskKind, d: MaskDialect, *, key: bytes | None, width: float | None, bulk: bool = False) -> str:
    v = PLACEHOLDER
    t = d.text.format(v=v)
    chars = d.chars.format(t=t)

    def stars(count: str) -> str:
        return d.stars.format(n=d.greatest.format(a=count, b="0"))

    def concat(*parts: str) -> str:
        joined = parts[0]
        for part in parts[1:]:
            joined = d.concat.format(a=joined, b=part)
        return joined

    def phone() -> str:
        shown = concat(d.left.format(t=t, n=3), stars(f"{chars} - 7"), d.right.format(t=t, n=4))
        return f"CASE WHEN {chars} < 8 THEN {stars(chars)} ELSE {shown} END"

    def pseudonym() -> str:
        outer, inner = _hmac_pads(key)
        return d.hmac.format(outer=outer, inner=inner, t=t)

    def number_range() -> str:
        if width is None or width <= 0:
            raise Invalid("the NUMBER_RANGE mask needs a positive width", field="width")
        return f"floor({d.number.format(v=v)} / {float(width)!r}) * {float(width)!r}"

    templates: dict[MaskKind, Callable[[], str]] = {
        MaskKind.MASK: lambda: ((bulk and d.letters_digits_bulk) or d.letters_digits).format(t=t),
        MaskKind.MASK_SHOW_LAST_4: lambda: concat(stars(f"{chars} - 4"), d.right.format(t=t, n=4)),
        MaskKind.MASK_SHOW_FIRST_4: lambda: concat(d.left.format(t=t, n=4), stars(f"{chars} - 4")),
        MaskKind.MASK_HASH: lambda: d.sha256.format(t=t),
        MaskKind.MASK_DATE_SHOW_YEAR: lambda: d.year_start.format(v=v),
        MaskKind.ID_REGION_BIRTH_YEAR: lambda: concat(d.left.format(t=t, n=10), stars(f"{chars} - 10")),
        MaskKind.NAME_SURNAME: lambda: concat(d.left.format(t=t, n=1), stars(f"{chars} - 1")),
        MaskKind.PHONE_3_4: phone,
        MaskKind.DATE_YEAR: lambda: d.year.format(v=v),
        MaskKind.DATE_MONTH: lambda: d.month_start.format(v=v),
        MaskKind.PSEUDONYM: pseudonym,
        MaskKind.NUMBER_RANGE: number_range,
    }
    return templates[kind]()


def _sql(text: str, value: exp.Expr, dialect: MaskDialect) -> exp.Expr:
    """Parse a template in its dialect and put ``value`` where the placeholder is."""
    template: exp.Expr = exp.maybe_parse(text, dialect=dialect.name)

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name == PLACEHOLDER and not node.table:
            return value.copy()
        return node

    swapped: exp.Expr = template.transform(swap)
    return swapped


def _hmac_pads(key: bytes | None) -> tuple[str, str]:
    """HMAC's outer and inner keys (K ⊕ opad, K ⊕ ipad), in hex, computed here so SQL needs only SHA-256."""
    if not key:
        raise Invalid("the PSEUDONYM mask needs the grant's key")
    block = hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK else key
    block = block.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x5C for b in block).hex(), bytes(b ^ 0x36 for b in block).hex()


def pseudonym(key: bytes, value: str) -> str:
    """The same pseudonym computed in Python (for tests, for SQLite, and for consumers holding the key)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
