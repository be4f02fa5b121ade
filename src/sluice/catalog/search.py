"""Full-text search over the catalog, in Chinese and English, on SQLite (FTS5) and PostgreSQL (tsvector).

Text is segmented here, not by the database: Chinese with jieba (search mode for documents, precise mode
for queries), everything else split into lower-case words. The database then only matches whole tokens,
so both backends find the same resources for the same query. Ranking is each engine's own (FTS5 bm25,
PostgreSQL ts_rank), with titles weighted above tags above the rest; lower ``rank`` is better on both.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import CTE, Float, Integer, Select, cast, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

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


class SearchBackend(Protocol):
    def hits(self, session: Session, tokens: Iterable[str]) -> CTE:
        """A CTE of (resource_id, rank) for resources matching every token; lower rank is better."""
        ...

    def id_set(self, ids: list[int]) -> Select[Any]:
        """A subquery yielding the given ids, as one parameter however many there are."""
        ...


def _materialised(statement: str, **params: str) -> CTE:
    # MATERIALIZED: run the full-text match once. Left to itself, SQLite's planner may instead scan
    # resources by another index and re-run the MATCH for every row (seen: 1 s instead of 15 ms).
    return (
        text(statement)
        .bindparams(**params)
        .columns(resource_id=Integer, rank=Float)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )


class Fts5Backend:
    """SQLite: the FTS5 table ``resource_fts`` mirrors ``resource_search`` (triggers in migration 0003)."""

    def hits(self, session: Session, tokens: Iterable[str]) -> CTE:
        match = " ".join(f'"{t}"' for t in tokens)  # tokens are [0-9a-z] or CJK only: nothing to escape
        return _materialised(
            "SELECT rowid AS resource_id, bm25(resource_fts, 10.0, 4.0, 1.0) AS rank "
            "FROM resource_fts WHERE resource_fts MATCH :match",
            match=match,
        )

    def id_set(self, ids: list[int]) -> Select[Any]:
        return select(literal_column("value")).select_from(func.json_each(json.dumps(ids)))


class TsvectorBackend:
    """PostgreSQL: ``resource_search.document`` is a generated, weighted tsvector with a GIN index."""

    def hits(self, session: Session, tokens: Iterable[str]) -> CTE:
        return _materialised(
            "SELECT resource_id, -ts_rank(document, query) AS rank "
            "FROM resource_search, plainto_tsquery('simple', :query) AS query WHERE document @@ query",
            query=" ".join(tokens),
        )

    def id_set(self, ids: list[int]) -> Select[Any]:
        return select(func.unnest(cast(ids, ARRAY(Integer))))


BACKENDS: dict[str, SearchBackend] = {"sqlite": Fts5Backend(), "postgresql": TsvectorBackend()}


def backend_for(session: Session) -> SearchBackend:
    return BACKENDS[session.get_bind().dialect.name]
