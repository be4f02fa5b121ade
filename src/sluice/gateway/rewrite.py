"""Rules 2–3 of the gateway: every table reference becomes a governed subquery of what the grant allows.

After rule 1 (``policy.check_query``), the query is qualified against a schema holding only the granted
fields of each resource (sqlglot's ``qualify``: ``*`` expands to those fields, every column is bound to its
table), so naming a field outside the grant is refused — naming the field — rather than silently nulled.
Then every reference to a resource, at any depth (CTEs, subqueries, both sides of a set operation, lateral
joins), is replaced by ``(SELECT mask(f) AS f, … FROM <physical> WHERE <row filter>) AS <alias>``: rows are
filtered on the provider's raw values, and the consumer's own predicates see only masked ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from sluice.errors import Forbidden, Invalid
from sluice.gateway.masks import DUCKDB, MaskDialect, MaskKind, mask
from sluice.gateway.policy import DIALECT, CheckedQuery

UNRESOLVED = re.compile(r"Column '([^']+)' could not be resolved|Unknown column: ([^\s,]+)")


@dataclass(frozen=True)
class Masking:
    kind: MaskKind
    width: float | None = None


@dataclass(frozen=True)
class GrantedView:
    """What one caller may read of one resource, and where the engine finds it."""

    code: str
    relation: exp.Expr  # the physical rows, as the engine names them (a view, a table, read_parquet(...))
    fields: dict[str, str]  # granted field → SQL type, in the resource's order
    all_fields: frozenset[str]  # every field of the resource (to tell "not granted" from "no such field")
    masks: dict[str, Masking] = field(default_factory=dict)
    row_filter: exp.Expr | None = None  # over the resource's raw field names
    key: bytes | None = None  # the grant's pseudonym key


def govern(
    checked: CheckedQuery, views: dict[str, GrantedView], dialect: MaskDialect = DUCKDB, *, bulk: bool = False
) -> exp.Query:
    """The query with every resource replaced by its governed subquery, masks in the engine's ``dialect`` (in
    their ``bulk`` form for a whole export)."""
    missing = sorted(checked.resources - set(views))
    if missing:
        raise Forbidden(f"you have no grant for {', '.join(missing)}", resources=missing)
    tree = _qualified(checked, views)

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and node.db:
            view = views.get(f"{node.db.lower()}.{node.name.lower()}")
            if view is not None:
                alias = node.alias_or_name
                return exp.Subquery(
                    this=governed_rows(view, dialect, bulk=bulk),
                    alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)),
                )
        return node

    governed = tree.transform(replace)
    assert isinstance(governed, exp.Query)
    return governed


def governed_rows(view: GrantedView, dialect: MaskDialect = DUCKDB, *, bulk: bool = False) -> exp.Select:
    """``SELECT mask(f) AS f, … FROM <physical> WHERE <row filter>`` for one grant."""
    columns: list[exp.Expr] = []
    for name in view.fields:
        raw = exp.column(exp.to_identifier(name, quoted=True))
        masking = view.masks.get(name)
        value = (
            mask(masking.kind, raw, dialect=dialect, key=view.key, width=masking.width, bulk=bulk) if masking else raw
        )
        columns.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
    rows = exp.select(*columns).from_(view.relation.copy())
    if view.row_filter is not None:
        rows = rows.where(view.row_filter.copy())
    return rows


def check_physical(sql: str, dialect: MaskDialect, views: dict[str, GrantedView]) -> None:
    """Defence in depth after generating the engine's SQL: read back in that dialect, it may read nothing but
    the physical relations of the granted views (no table a transpilation could have conjured up)."""
    allowed: set[str] = set()
    for view in views.values():
        allowed |= _tables_in(exp.select("*").from_(view.relation.copy()).sql(dialect=dialect.name), dialect)
    stray = _tables_in(sql, dialect) - allowed
    if stray:
        raise Forbidden(f"the query may read only the resources it names, not {', '.join(sorted(stray))}")


def _tables_in(sql: str, dialect: MaskDialect) -> set[str]:
    """Every relation the SQL reads, as it parses in ``dialect`` (aliases dropped; its own CTEs left out)."""
    try:
        tree: exp.Expr = exp.maybe_parse(sql, dialect=dialect.name)
    except Exception as exc:  # sqlglot's parse errors: the engine would not understand it either
        raise Invalid(f"the query cannot be expressed for its engine: {str(exc).splitlines()[0]}") from None
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    keys = set()
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name.lower() in ctes:
            continue
        bare = table.copy()
        bare.set("alias", None)
        keys.add(bare.sql(dialect=dialect.name, normalize=True).lower())
    return keys


def _qualified(checked: CheckedQuery, views: dict[str, GrantedView]) -> exp.Query:
    schema: dict[str, object] = {}
    for code in checked.resources:
        org, name = code.split(".", 1)
        tables = schema.setdefault(org, {})
        assert isinstance(tables, dict)
        tables[name] = dict(views[code].fields)
    try:
        tree = qualify(
            checked.tree.copy(),
            schema=schema,
            dialect=DIALECT,
            validate_qualify_columns=True,
            quote_identifiers=True,
            identify=True,
        )
    except OptimizeError as exc:
        raise _column_refusal(str(exc), checked, views) from None
    assert isinstance(tree, exp.Query)
    _check_columns(tree, checked, views)
    return tree


def _check_columns(tree: exp.Query, checked: CheckedQuery, views: dict[str, GrantedView]) -> None:
    """Defence in depth behind ``qualify`` (which leaves, e.g., an unknown name inside HAVING unresolved):
    every column bound to a resource must be granted, and an unbound one must name an output column."""
    bound = {
        table.alias_or_name: views[f"{table.db.lower()}.{table.name.lower()}"]
        for table in tree.find_all(exp.Table)
        if table.db and f"{table.db.lower()}.{table.name.lower()}" in views
    }
    for column in tree.find_all(exp.Column):
        view = bound.get(column.table) if column.table else None
        if view is not None:
            if column.name not in view.fields:
                raise _column_refusal(f"Unknown column: {column.name}", checked, views)
            continue
        if column.table:
            continue  # bound to a CTE or a subquery, whose own columns were checked where they are made
        select = column.find_ancestor(exp.Select)
        outputs = {e.alias_or_name for e in select.expressions} if select is not None else set()
        if column.name not in outputs:
            raise _column_refusal(f"Unknown column: {column.name}", checked, views)


def _column_refusal(message: str, checked: CheckedQuery, views: dict[str, GrantedView]) -> Forbidden | Invalid:
    found = UNRESOLVED.search(message)
    column = (found.group(1) or found.group(2)).strip('"') if found else None
    if column is not None:
        owners = sorted(code for code in checked.resources if column.lower() in views[code].all_fields)
        if owners:
            return Forbidden(
                f"the field {column} of {', '.join(owners)} is not in your grant; ask the provider to widen it, or "
                "leave the field out",
                field=column,
                resources=owners,
            )
        return Invalid(f"no field {column!r} in {', '.join(sorted(checked.resources))}", field=column)
    return Invalid(f"the query cannot be resolved against your grants: {message.splitlines()[0]}")
