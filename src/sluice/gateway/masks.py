"""Masks: what a granted field looks like to its consumer, as SQL trees (DuckDB dialect; transpiled later).

Ranger's eight (``MASK``, ``MASK_SHOW_LAST_4``, ``MASK_SHOW_FIRST_4``, ``MASK_HASH``, ``MASK_NULL``,
``MASK_NONE``, ``MASK_DATE_SHOW_YEAR``, ``CUSTOM`` — the last not offered: a mask must be one we can test)
plus the ones government users need: an identity number keeping its region and birth year, a name keeping
its surname, a phone keeping its first three and last four digits, a keyed pseudonym (HMAC-SHA256 with a
per-grant key: stable inside one grant so joins work, different across consumers), and generalisation
(a date to its year or month, a number to the start of its range). Every mask maps NULL to NULL and never
raises on odd input.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from sqlglot import exp

from sluice.errors import Invalid

DIALECT = "duckdb"
HMAC_BLOCK = 64  # SHA-256's block size in bytes


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


def _sql(text: str, value: exp.Expr) -> exp.Expr:
    """Parse a template over the placeholder column ``value`` and put ``value`` in its place."""
    template: exp.Expr = exp.maybe_parse(text, dialect=DIALECT)

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name == "value" and not node.table:
            return value.copy()
        return node

    swapped: exp.Expr = template.transform(swap)
    return swapped


def _stars(count_sql: str) -> str:
    return f"repeat('*', GREATEST({count_sql}, 0))"


def mask(kind: MaskKind, value: exp.Expr, *, key: bytes | None = None, width: float | None = None) -> exp.Expr:
    """The masked form of ``value`` (a column or any expression) for one kind of mask."""
    text = "CAST(value AS VARCHAR)"
    templates = {
        MaskKind.MASK: f"regexp_replace(regexp_replace({text}, '[A-Za-z]', 'x', 'g'), '[0-9]', 'n', 'g')",
        MaskKind.MASK_SHOW_LAST_4: f"{_stars(f'length({text}) - 4')} || right({text}, 4)",
        MaskKind.MASK_SHOW_FIRST_4: f"left({text}, 4) || {_stars(f'length({text}) - 4')}",
        MaskKind.MASK_HASH: f"sha256({text})",
        MaskKind.MASK_NULL: "CAST(NULL AS VARCHAR)",
        MaskKind.MASK_NONE: "value",
        MaskKind.MASK_DATE_SHOW_YEAR: "CAST(date_trunc('year', value) AS DATE)",
        MaskKind.ID_REGION_BIRTH_YEAR: f"left({text}, 10) || {_stars(f'length({text}) - 10')}",
        MaskKind.NAME_SURNAME: f"left({text}, 1) || {_stars(f'length({text}) - 1')}",
        MaskKind.PHONE_3_4: f"CASE WHEN length({text}) < 8 THEN {_stars(f'length({text})')} "
        f"ELSE left({text}, 3) || {_stars(f'length({text}) - 7')} || right({text}, 4) END",
        MaskKind.DATE_YEAR: "CAST(year(value) AS INTEGER)",
        MaskKind.DATE_MONTH: "CAST(date_trunc('month', value) AS DATE)",
    }
    if kind is MaskKind.PSEUDONYM:
        return _pseudonym(value, key)
    if kind is MaskKind.NUMBER_RANGE:
        if width is None or width <= 0:
            raise Invalid("the NUMBER_RANGE mask needs a positive width", field="width")
        return _sql(f"floor(CAST(value AS DOUBLE) / {float(width)!r}) * {float(width)!r}", value)
    masked = _sql(templates[kind], value)
    if kind in (MaskKind.MASK_NULL, MaskKind.MASK_NONE):
        return masked
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()), true=exp.null())], default=masked
    )


def _pseudonym(value: exp.Expr, key: bytes | None) -> exp.Expr:
    """HMAC-SHA256 in SQL: sha256(K ⊕ opad ‖ sha256(K ⊕ ipad ‖ message)), the pads computed here."""
    if not key:
        raise Invalid("the PSEUDONYM mask needs the grant's key")
    block = hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK else key
    block = block.ljust(HMAC_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    template = f"lower(sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode(CAST(value AS VARCHAR))))))"
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()), true=exp.null())],
        default=_sql(template, value),
    )


def pseudonym(key: bytes, value: str) -> str:
    """The same pseudonym computed in Python (for tests and for consumers holding the key)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
