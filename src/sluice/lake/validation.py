"""Validating a staged upload against the catalog's fields, in one vectorised DuckDB pass.

The rules, per field: ``type`` (the text casts to the field's type), ``required`` (a non-nullable field has a
value), ``element`` (the value meets its data element, e.g. the GB 11643 check character), and for the
primary key ``unique`` (no key twice in the file, nor — when appending — already in the base version).
The SQL is built as a sqlglot tree: the validators come from ``catalog.standards`` as expressions.
The result is the table ``checked``: the typed columns, the record number and one boolean per rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlglot import exp

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.standards import Validator
from sluice.catalog.vocab import SQL_TYPES, FieldType, Sensitivity
from sluice.lake.readers import STAGED
from sluice.lake.schemas import Example, RuleResult

DIALECT = "duckdb"
CHECKED = "checked"
ROW = "_row"
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class Rule:
    name: str  # type | required | element | unique
    field: str | None
    column: str | None  # the file column whose value an example shows
    message: str
    flag: str  # the boolean column in ``checked``


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(ident(name), table=ident(table) if table else None)


def text_value(column: str, field: FieldSpec) -> exp.Expr:
    """The file's text for a field: empty means missing; outer spaces are ignored for non-text types."""
    raw: exp.Expr = col(column, STAGED)
    if field.type is not FieldType.STRING:
        raw = exp.func("TRIM", raw)
    return exp.func("NULLIF", raw, exp.Literal.string(""))


def typed_value(column: str, field: FieldSpec) -> exp.Expr:
    value = text_value(column, field)
    if field.type is FieldType.STRING:
        return value
    return exp.TryCast(this=value, to=exp.DataType.build(SQL_TYPES[field.type], dialect=DIALECT))


def text_name(index: int) -> str:
    """The column of the prepared rows holding field ``index``'s text (its typed value is under its own name)."""
    return f"_text_{index}"


def helper_name(index: int, helper: str) -> str:
    """The column of the prepared rows holding a helper of field ``index``'s validator."""
    return f"_helper_{index}_{helper}"


def helper_columns(fields: list[FieldSpec], validators: dict[str, Validator], texts: list[exp.Expr]) -> list[exp.Expr]:
    """The validators' helpers, each computed once per row from its field's text (``texts``, in field order)."""
    return [
        helper.as_(helper_name(index, name))
        for index, (field, text) in enumerate(zip(fields, texts, strict=True))
        if (validator := validators.get(field.name)) is not None
        for name, helper in validator.helper_values(text).items()
    ]


def build_rules(fields: list[FieldSpec], validators: dict[str, Validator]) -> list[tuple[Rule, exp.Expr]]:
    """Each field rule with its per-row condition (TRUE: the row breaks it), over the prepared rows: the text of
    field ``i`` in ``text_name(i)``, its typed value under the field's name, its validator's helpers under
    ``helper_name(i, helper)``. The column an example shows is filled in by ``check``."""
    rules: list[tuple[Rule, exp.Expr]] = []
    for index, field in enumerate(fields):
        text = col(text_name(index))
        typed = col(field.name)
        if field.type is not FieldType.STRING:
            cast_fails = exp.and_(
                exp.Not(this=exp.Is(this=text.copy(), expression=exp.null())),
                exp.Is(this=typed.copy(), expression=exp.null()),
            )
            rules.append(
                (
                    Rule("type", field.name, None, f"{field.name}: not a valid {field.type.value}", f"type_{index}"),
                    cast_fails,
                )
            )
        if not field.nullable or field.primary_key:
            rules.append(
                (
                    Rule("required", field.name, None, f"{field.name}: a value is required", f"required_{index}"),
                    exp.Is(this=text.copy(), expression=exp.null()),
                )
            )
        validator = validators.get(field.name)
        if validator is not None:
            present = exp.Not(this=exp.Is(this=typed.copy(), expression=exp.null()))
            helpers = {name: col(helper_name(index, name)) for name in validator.helpers}
            valid = validator.sql(text.copy(), helpers)
            broken = exp.and_(present, exp.Not(this=valid))  # a bad type is reported once
            message = f"{field.name}: does not meet the data element {field.data_element}"
            rules.append((Rule("element", field.name, None, message, f"element_{index}"), broken))
    return rules


def check(
    con: duckdb.DuckDBPyConnection,
    fields: list[FieldSpec],
    columns: dict[str, str],
    validators: dict[str, Validator],
    base: Path | None,
) -> list[Rule]:
    """Create ``checked`` (typed values, record number, one flag per rule, ``_bad``); return the rules.

    Two steps in one statement: the prepared rows compute each field's text and typed value once (and the key
    checks' joins), and the rules read those columns, so no cast or trim is repeated per rule."""
    rules = [
        (Rule(r.name, r.field, columns[r.field] if r.field else None, r.message, r.flag), cond)
        for r, cond in build_rules(fields, validators)
    ]
    prepared: list[exp.Expr] = [
        exp.Add(this=exp.column("rowid", table=ident(STAGED)), expression=exp.Literal.number(1)).as_(ROW)
    ]
    for index, field in enumerate(fields):
        prepared.append(text_value(columns[field.name], field).as_(text_name(index)))
        prepared.append(typed_value(columns[field.name], field).as_(field.name))
    prepared += helper_columns(fields, validators, [text_value(columns[f.name], f) for f in fields])
    keys = [f for f in fields if f.primary_key]
    joins: list[exp.Expr] = []
    if keys:
        # Keys compare as the values they become: an integer key's "01" and "1" are the same key.
        dup_select = exp.select(*[typed_value(columns[k.name], k).as_(f"k{i}") for i, k in enumerate(keys)]).from_(
            STAGED
        )
        dup_select = dup_select.group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))]).having(
            exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1))
        )
        dup = dup_select.select(exp.true().as_("_dup"))
        on = exp.and_(
            *[exp.EQ(this=typed_value(columns[k.name], k), expression=col(f"k{i}", "dups")) for i, k in enumerate(keys)]
        )
        joins.append(
            exp.Join(this=exp.Subquery(this=dup, alias=exp.TableAlias(this=ident("dups"))), on=on, kind="LEFT")
        )
        prepared.append(col("_dup", "dups").as_("_dup"))
        key_names = ", ".join(k.name for k in keys)
        rules.append(
            (
                Rule(
                    "unique",
                    keys[0].name,
                    columns[keys[0].name],
                    f"the key ({key_names}) is not unique in the file",
                    "unique_file",
                ),
                exp.Is(this=col("_dup"), expression=exp.null()).not_(),
            )
        )
        if base is not None:
            prior = (
                exp.select(*[col(k.name).as_(f"k{i}") for i, k in enumerate(keys)])
                .distinct()
                .from_(exp.func("read_parquet", exp.Literal.string(str(base))))
            )
            prior = prior.select(exp.true().as_("_old"))
            on_old = exp.and_(
                *[
                    exp.EQ(this=typed_value(columns[k.name], k), expression=col(f"k{i}", "prior"))
                    for i, k in enumerate(keys)
                ]
            )
            joins.append(
                exp.Join(
                    this=exp.Subquery(this=prior, alias=exp.TableAlias(this=ident("prior"))), on=on_old, kind="LEFT"
                )
            )
            prepared.append(col("_old", "prior").as_("_old"))
            rules.append(
                (
                    Rule(
                        "unique",
                        keys[0].name,
                        columns[keys[0].name],
                        f"the key ({key_names}) is already in the base version",
                        "unique_base",
                    ),
                    exp.Is(this=col("_old"), expression=exp.null()).not_(),
                )
            )
    inner = exp.select(*prepared).from_(STAGED)
    for join in joins:
        inner = inner.join(join)
    flagged = exp.select(col(ROW), *[col(f.name) for f in fields], *[cond.as_(rule.flag) for rule, cond in rules])
    flagged = flagged.from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=ident("prepared"))))
    any_bad = exp.or_(*[col(rule.flag) for rule, _ in rules]) if rules else exp.false()
    outer = exp.select(exp.Star(), any_bad.as_("_bad")).from_(
        exp.Subquery(this=flagged, alias=exp.TableAlias(this=ident("t")))
    )
    con.execute(f"CREATE TABLE {CHECKED} AS {outer.sql(dialect=DIALECT)}")
    return [rule for rule, _ in rules]


def results(
    con: duckdb.DuckDBPyConnection,
    rules: list[Rule],
    fields: list[FieldSpec],
    header_lines: int | None,
    multiline: bool,
) -> tuple[list[RuleResult], int]:
    """Per broken rule: the count and up to 20 examples with record and line numbers; and the bad-row count."""
    if not rules:
        return [], 0
    counts_sql = exp.select(
        *[exp.func("COUNT_IF", col(r.flag)) for r in rules],
        exp.func("COUNT_IF", col("_bad")),
    ).from_(CHECKED)
    counted = con.execute(counts_sql.sql(dialect=DIALECT)).fetchone()
    assert counted is not None
    personal = {f.name for f in fields if f.sensitivity is not Sensitivity.NONE}
    found: list[RuleResult] = []
    for rule, count in zip(rules, counted[:-1], strict=True):
        if not count:
            continue
        examples = _examples(con, rule, header_lines, multiline, masked=rule.field in personal)
        found.append(
            RuleResult(rule=rule.name, field=rule.field, message=rule.message, count=int(count), examples=examples)
        )
    return found, int(counted[-1])


def _examples(
    con: duckdb.DuckDBPyConnection, rule: Rule, header_lines: int | None, multiline: bool, *, masked: bool
) -> list[Example]:
    rows = [
        r[0]
        for r in con.execute(
            f'SELECT {ROW} FROM {CHECKED} WHERE "{rule.flag}" ORDER BY {ROW} LIMIT {MAX_EXAMPLES}'
        ).fetchall()
    ]
    if not rows:
        return []
    column = rule.column or ""
    quoted = ident(column).sql(dialect=DIALECT)
    values = dict(
        con.execute(
            f"SELECT rowid + 1, {quoted} FROM {STAGED} WHERE rowid + 1 IN ({', '.join(map(str, rows))})"
        ).fetchall()
    )
    lines = _lines(con, rows, header_lines, multiline)
    return [
        Example(row=row, line=lines.get(row), value=mask(values.get(row)) if masked else values.get(row))
        for row in rows
    ]


def _lines(
    con: duckdb.DuckDBPyConnection, rows: list[int], header_lines: int | None, multiline: bool
) -> dict[int, int]:
    """Where each record starts: header lines + records before it + line breaks inside earlier values."""
    if header_lines is None:
        return {}
    if not multiline:
        return {row: header_lines + row for row in rows}
    columns = [r[0] for r in con.execute(f"DESCRIBE {STAGED}").fetchall()]
    breaks = " + ".join(
        f"COALESCE(LENGTH({ident(c).sql(dialect=DIALECT)}) - LENGTH(REPLACE({ident(c).sql(dialect=DIALECT)}, chr(10), '')), 0)"
        for c in columns
    )
    lines: dict[int, int] = {}
    for row in rows:
        before = con.execute(f"SELECT COALESCE(SUM({breaks}), 0) FROM {STAGED} WHERE rowid + 1 < {int(row)}").fetchone()
        lines[row] = header_lines + row + int(before[0] if before else 0)
    return lines


def mask(value: str | None) -> str | None:
    """Keep the first and last few characters of a personal value, so a clerk can find it, and no more."""
    if value is None:
        return None
    if len(value) <= 2:
        return "*" * len(value)
    keep = max(1, min(4, len(value) // 4))
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]
