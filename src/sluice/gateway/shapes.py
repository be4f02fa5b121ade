"""A query's shape: its text with the values it compares against taken out, so that the plan cache holds one
rewritten query for every point lookup (``WHERE id_number = '…'``) instead of one per identity number.

Only literals that are operands of a comparison (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``,
``ILIKE``, ``IN (…)``, ``BETWEEN``) become markers: never a number in ``ORDER BY 1`` or ``LIMIT``, a
function's argument, or anything rule 1 looks at. Each marker is a string literal holding a per-process
random nonce, so it cannot collide with anything a consumer writes; after the rewrite, the markers in the
engine's SQL are replaced by the values, each written as a literal of that engine's dialect by sqlglot. A
query that already contains the nonce keeps its values in its shape (no markers).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlglot import exp

from sluice.gateway.masks import MaskDialect
from sluice.gateway.policy import DIALECT, parse_one_query, rule_one

NONCE = secrets.token_hex(8)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In, exp.Between)
MARKER = re.compile(rf"'sluice_{NONCE}_(\d+)'")


@dataclass(frozen=True)
class Shape:
    """A query that passed rule 1 (before its tables are checked against the caller), its values marked."""

    tree: exp.Query  # shared between calls: copy before changing it
    tables: tuple[tuple[str, str], ...]  # rule 1's finding: (resource code, as written)
    template: str  # the tree as text (DuckDB dialect): what plans are cached by
    values: tuple[exp.Literal, ...]
    digest: str  # SHA-256 of the query as sent, normalised (what the audit event and the receipt name)

    def fill(self, sql: str, dialect: MaskDialect) -> str:
        """The engine's SQL with each marker replaced by its value, written in ``dialect``."""
        if not self.values:
            return sql
        written = [value.sql(dialect=dialect.name) for value in self.values]
        return MARKER.sub(lambda found: written[int(found.group(1))], sql)


@functools.lru_cache(maxsize=4096)
def shape_of(sql: str) -> Shape:
    """The query's shape, once it passed rule 1 (whose refusals it raises), checked on the tree as parsed."""
    tree = parse_one_query(sql)
    tables = rule_one(tree)
    digest = hashlib.sha256(tree.sql(dialect=DIALECT, normalize=True).encode("utf-8")).hexdigest()
    if NONCE in sql:
        return Shape(tree, tables, tree.sql(dialect=DIALECT), (), digest)
    values: list[exp.Literal] = []

    def mark(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Literal) and isinstance(node.parent, COMPARISONS):
            values.append(node.copy())
            return exp.Literal.string(f"sluice_{NONCE}_{len(values) - 1}")
        return node

    template = tree.transform(mark)
    assert isinstance(template, exp.Query)
    return Shape(template, tables, template.sql(dialect=DIALECT), tuple(values), digest)
