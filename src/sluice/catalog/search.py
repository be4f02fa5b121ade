"""Full-text search over the catalog, in Chinese and English, on SQLite (FTS5) and PostgreSQL (tsvector).

Text is segmented here, not by the database: Chinese with jieba (search mode for documents, precise mode
for queries), everything else split into lower-case words. The database then only matches whole tokens,
so both backends find the same resources for the same query. Ranking is each engine's own (FTS5 bm25,
PostgreSQL ts_rank), with titles weighted above tags above the rest; lower ``rank`` is better on both.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Float, FromClause, Integer, column, func, literal_column, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from sluice.catalog.models import Resource, ResourceSearch

MAX_QUERY_TOKENS = 12
_WORD = re.compile(r"[0-9a-z]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@functools.cache
def _jieba() -> object:
    """jieba, with its dictionary loaded (about a second, once per process)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def warm_up() -> None:
    """Load the segmentation dictionary now (at start-up) rather than on the first search."""
    _jieba()


def document_tokens(*texts: str) -> str:
    """Index tokens for some text, space-separated: words and, for Chinese, also their sub-words."""
    jieba = _jieba()
    tokens: list[str] = []
    for value in texts:
        tokens += [t for t in jieba.cut_for_search(value.lower()) if _WORD.fullmatch(t)]  # type: ignore[attr-defined]
    return " ".join(tokens)


def query_tokens(query: str) -> list[str]:
    """The tokens a query must all match (precise segmentation, duplicates dropped, at most 12)."""
    jieba = _jieba()
    seen = dict.fromkeys(t for t in jieba.cut(query.lower()) if _WORD.fullmatch(t))  # type: ignore[attr-defined]
    return list(seen)[:MAX_QUERY_TOKENS]


def read_first(column: ColumnElement[int]) -> ColumnElement[int]:
    """``+column``: the same value, but SQLite's planner cannot find rows by it with an index, so in a join
    on it the column's own table is the outer loop and the other table is looked up by its key."""
    return UnaryExpression(column, operator=custom_op("+"), type_=Integer)


class Match(NamedTuple):
    """How a backend matches words, as pieces of one ``SELECT`` over ``resources``."""

    source: FromClause  # the full-text index joined to ``resources``, the index read first
    condition: ColumnElement[bool]  # the resource matches every token
    rank: ColumnElement[float]  # lower is better


class SearchBackend(Protocol):
    def match(self, tokens: Iterable[str]) -> Match: ...


_FTS = table("resource_fts", column("rowid", Integer))


class Fts5Backend:
    """SQLite: the FTS5 table ``resource_fts`` mirrors ``resource_search`` (triggers in migration 0003).

    The index is the outer loop (``read_first``): its MATCH runs once and each matched rowid finds its
    ``resources`` row by key. Left to itself, when a filter on ``resources`` looks selective, SQLite's
    planner may do it the other way round and re-run the MATCH for every resource (seen: 1 s instead of
    15 ms). ``bm25`` is computed only for the rows that pass visibility and the filters.
    """

    def match(self, tokens: Iterable[str]) -> Match:
        phrase = " ".join(f'"{t}"' for t in tokens)  # tokens are [0-9a-z] or CJK only: nothing to escape
        fts: ColumnElement[Any] = literal_column("resource_fts")  # FTS5's MATCH and bm25 take the table itself
        return Match(
            source=_FTS.join(Resource.__table__, Resource.id == read_first(_FTS.c.rowid)),
            condition=fts.op("MATCH")(phrase),
            rank=func.bm25(fts, literal_column("10.0"), literal_column("4.0"), literal_column("1.0")),
        )


class TsvectorBackend:
    """PostgreSQL: ``resource_search.document`` is a generated, weighted tsvector with a GIN index."""

    def match(self, tokens: Iterable[str]) -> Match:
        # A generated column that exists on PostgreSQL only, hence not in the model.
        document: ColumnElement[Any] = literal_column("resource_search.document")
        query = func.plainto_tsquery(literal_column("'simple'"), " ".join(tokens))
        return Match(
            source=ResourceSearch.__table__.join(Resource.__table__, Resource.id == ResourceSearch.resource_id),
            condition=document.op("@@")(query),
            rank=-func.ts_rank(document, query, type_=Float),
        )


BACKENDS: dict[str, SearchBackend] = {"sqlite": Fts5Backend(), "postgresql": TsvectorBackend()}


def backend_for(session: Session) -> SearchBackend:
    return BACKENDS[session.get_bind().dialect.name]
