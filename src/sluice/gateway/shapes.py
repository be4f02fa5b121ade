"""A query's shape: its text with the values it compares against taken out, so that the plan cache holds one
rewritten query for every point lookup (``WHERE id_number = '…'``) instead of one per identity number.

Only literals that are operands of a comparison (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``,
``ILIKE``, ``IN (…)``, ``BETWEEN``) become markers: never a number in ``ORDER BY 1`` or ``LIMIT``, a
function's argument, or anything rule 1 looks at. Each marker is a string literal holding a per-process
random nonce, so it cannot collide with anything a consumer writes; after the rewrite, the markers in the
engine's SQL are replaced by the values, each written as a literal of that engine's dialect by sqlglot. A
query that already contains the nonce keeps its values in its shape (no markers).

Parsing is most of a point lookup's own cost in the gateway (about 0.6 ms of sqlglot per query), and every
lookup's text differs in its value. So a shape is also found by its *skeleton*: the query's tokens with the
text of every string and number literal left out. The first query of a skeleton is parsed; it records which
literal tokens became markers (by their position in the text, which sqlglot keeps on each literal) and the
text of every other literal. A later query with the same skeleton and the same other literals has the same
tree but for the marked values — the tokens say what each is — so it takes the shape with its own values,
tokenised (about 40 µs), never parsed. Anything this does not cover (comments, the nonce, a literal the
parser made up) is parsed, as before.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from sqlglot import Dialect, exp
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import Token, TokenType

from sluice.gateway.masks import MaskDialect
from sluice.gateway.policy import DIALECT, MAX_SQL_LENGTH, parse_one_query, rule_one

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


def shape_of(sql: str) -> Shape:
    """The query's shape, once it passed rule 1 (whose refusals it raises): by its skeleton when a query of the
    same skeleton was parsed before, else parsed and checked."""
    if len(sql) > MAX_SQL_LENGTH or NONCE in sql:
        return parsed_shape(sql)
    try:
        tokens = Dialect.get_or_raise(DIALECT).tokenize(sql)
    except SqlglotError:
        return parsed_shape(sql)  # which says what is wrong with it
    if any(token.comments for token in tokens):
        return parsed_shape(sql)
    skeleton = tuple((t.token_type, None if t.token_type in SLOTS else t.text) for t in tokens)
    for known in SKELETONS.get(skeleton):
        found = known.reuse(tokens)
        if found is not None:
            return found
    shape = parsed_shape(sql)
    learnt = Skeleton.learn(shape, tokens)
    if learnt is not None:
        SKELETONS.add(skeleton, learnt)
    return shape


SLOTS = (TokenType.STRING, TokenType.NUMBER)  # the tokens whose text a skeleton leaves out


@dataclass(frozen=True)
class Skeleton:
    """What a parsed query taught about every query with the same tokens but for its literals' text."""

    shape: Shape
    markers: tuple[int, ...]  # for each marker in order, the index of its literal's token
    fixed: tuple[tuple[int, str], ...]  # every other literal token: (index, text), which must match
    normalised: str  # the shape's tree, normalised, markers in: what the digest is taken of, values filled in

    @classmethod
    def learn(cls, shape: Shape, tokens: list[Token]) -> Skeleton | None:
        """The skeleton of a parsed query; None where the shape's values cannot be told from its tokens alone."""
        at = {token.start: index for index, token in enumerate(tokens) if token.token_type in SLOTS}
        markers: list[int] = []
        for value in shape.values:
            index = at.get(value.meta.get("start", -1))
            if index is None or _literal(tokens[index]) != value:
                return None
            markers.append(index)
        if len(set(markers)) != len(markers):
            return None
        normalised = shape.tree.sql(dialect=DIALECT, normalize=True)
        known = cls(
            shape, tuple(markers), tuple((i, tokens[i].text) for i in at.values() if i not in markers), normalised
        )
        if known.digest(shape.values) != shape.digest:  # the filled text must be what parsing gave
            return None
        return known

    def reuse(self, tokens: list[Token]) -> Shape | None:
        """This skeleton's shape with the values ``tokens`` hold; None if another literal differs."""
        if any(tokens[index].text != text for index, text in self.fixed):
            return None
        values = tuple(_literal(tokens[index]) for index in self.markers)
        return replace(self.shape, values=values, digest=self.digest(values))

    def digest(self, values: tuple[exp.Literal, ...]) -> str:
        written = [value.sql(dialect=DIALECT) for value in values]
        filled = MARKER.sub(lambda found: written[int(found.group(1))], self.normalised) if values else self.normalised
        return hashlib.sha256(filled.encode("utf-8")).hexdigest()


def _literal(token: Token) -> exp.Literal:
    if token.token_type is TokenType.STRING:
        return exp.Literal.string(token.text)
    return exp.Literal(this=token.text, is_string=False)


class Skeletons:
    """The skeletons seen, most recent first, at most ``size`` (a few per skeleton: its other literals may vary)."""

    def __init__(self, size: int = 1024, per_skeleton: int = 4) -> None:
        self._known: OrderedDict[tuple[tuple[TokenType, str | None], ...], list[Skeleton]] = OrderedDict()
        self._size = size
        self._per_skeleton = per_skeleton
        self._lock = threading.Lock()

    def get(self, key: tuple[tuple[TokenType, str | None], ...]) -> list[Skeleton]:
        with self._lock:
            found = self._known.get(key)
            if found is None:
                return []
            self._known.move_to_end(key)
            return list(found)

    def add(self, key: tuple[tuple[TokenType, str | None], ...], known: Skeleton) -> None:
        with self._lock:
            entries = self._known.setdefault(key, [])
            entries.insert(0, known)
            del entries[self._per_skeleton :]
            self._known.move_to_end(key)
            while len(self._known) > self._size:
                self._known.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


SKELETONS = Skeletons()


@functools.lru_cache(maxsize=4096)
def parsed_shape(sql: str) -> Shape:
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
