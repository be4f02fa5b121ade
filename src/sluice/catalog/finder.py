"""How a catalog search is answered: the matched set, its count, its facets and one page of it.

With words, everything is **one statement**: the full-text match joined to ``resources`` (visibility,
filters, ``bm25``/``ts_rank``) is a MATERIALIZED CTE, computed once and read by the parts of a UNION ALL —
the count, one GROUP BY per facet, and the page (ordered only up to its end). Only those few rows come
back to Python. Earlier designs re-ran the match for each of count, page and facets (about 80 ms at
100 000 resources), then fetched every matched row into Python to count and sort there (25-90 ms); see
docs/decisions/0006. Without words there is no match to share, and the database aggregates directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CTE, ColumnElement, Integer, Select, String, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from sluice.catalog import search
from sluice.catalog.models import Resource, ResourceFormat, ResourceTag
from sluice.catalog.queries import visible_to
from sluice.catalog.schemas import FacetValue, SearchQuery, Sort
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation

SCALAR_FACETS = {
    "category": Resource.category,
    "sharing_type": Resource.sharing_type,
    "open_type": Resource.open_type,
    "grade": Resource.grade,
}
MULTI_FACETS = {"tag": (ResourceTag, ResourceTag.tag), "format": (ResourceFormat, ResourceFormat.format)}


@dataclass(frozen=True)
class Found:
    count: int
    page: list[int]  # resource ids, in order
    facets: dict[str, list[FacetValue]]


def find(session: Session, actor: Actor, query: SearchQuery) -> Found:
    if not query.q.strip():
        return _without_words(session, actor, query)
    tokens = search.query_tokens(query.q)
    if not tokens:  # only punctuation or symbols: nothing can match
        return Found(0, [], {f: [] for f in query.facets})
    return _with_words(session, actor, query, tokens)


def conditions(actor: Actor, query: SearchQuery) -> list[ColumnElement[bool]]:
    """Visibility and the query's filters, as conditions on ``resources``."""
    found: list[ColumnElement[bool]] = [visible_to(actor)]
    if query.published_only:
        found.append(Resource.visible.is_(True))
    if query.organisation:
        found.append(Resource.org_id.in_(select(Organisation.id).where(Organisation.code.in_(query.organisation))))
    for name, column in SCALAR_FACETS.items():
        values = getattr(query, name)
        if values:
            found.append(column.in_([v.value for v in values]))
    if query.tag:
        found.append(Resource.id.in_(select(ResourceTag.resource_id).where(ResourceTag.tag.in_(query.tag))))
    if query.format:
        formats = [f.value for f in query.format]
        found.append(Resource.id.in_(select(ResourceFormat.resource_id).where(ResourceFormat.format.in_(formats))))
    return found


# --- with words: one statement ----------------------------------------------------------------------------

PAGE, COUNT = -1, -2  # the parts of the answer that are not facets
SORT_COLUMNS: dict[Sort, tuple[Any, ...]] = {
    Sort.RELEVANCE: (),
    Sort.NEWEST: (Resource.published_at,),
    Sort.MOST_USED: (Resource.use_count,),
    Sort.CODE: (Resource.code,),
}


def _with_words(session: Session, actor: Actor, query: SearchQuery, tokens: list[str]) -> Found:
    match = search.backend_for(session).match(tokens)
    sort = query.sort or Sort.RELEVANCE
    scalars = [SCALAR_FACETS[n] for n in query.facets if n in SCALAR_FACETS]
    matched = (
        select(Resource.id, Resource.org_id, *scalars, *SORT_COLUMNS[sort], match.rank.label("rank"))
        .select_from(match.source)
        .where(match.condition, *conditions(actor, query))
        .cte("matched")
        .prefix_with("MATERIALIZED")  # computed once, read by every part below
    )
    parts = [_counted(matched), _paged(matched, sort, query.offset, query.limit)]
    parts += [_faceted(matched, number, name) for number, name in enumerate(query.facets)]
    count = 0
    placed: list[tuple[int, int]] = []
    counts: dict[int, list[tuple[str, int]]] = {number: [] for number in range(len(query.facets))}
    for part, value, number, position in session.execute(union_all(*parts)):
        if part == COUNT:
            count = number
        elif part == PAGE:
            placed.append((position, number))
        else:
            counts[part].append((value, number))
    page = [resource_id for _, resource_id in sorted(placed)]
    facets = {name: _top(counts[number], query.facet_limit) for number, name in enumerate(query.facets)}
    return Found(count, page, facets)


# Each part's rows: (part, value, number, position) — a facet's (value, count) with the facet's index as
# part, the count (COUNT, -, count, -), or the page's ids and places (PAGE, -, id, place).
Part = Select[int, str, int, int]


def _counted(matched: CTE) -> Part:
    return select(_part(COUNT), _NO_TEXT, func.count(), _NO_NUMBER).select_from(matched)


def _paged(matched: CTE, sort: Sort, offset: int, limit: int) -> Part:
    # The database orders only up to the end of the page (a top-k, not a sort of every match); the
    # page's rows are then numbered, since a UNION ALL does not promise to keep a part's order.
    first = select(matched).order_by(*_order(matched.c, sort)).offset(offset).limit(limit).subquery()
    place = func.row_number().over(order_by=_order(first.c, sort))
    return select(_part(PAGE), _NO_TEXT, first.c.id, place)


def _order(columns: Any, sort: Sort) -> list[ColumnElement[Any]]:
    if sort is Sort.NEWEST:
        return [columns.published_at.desc().nulls_last(), columns.id.desc()]
    if sort is Sort.MOST_USED:
        return [columns.use_count.desc(), columns.id.desc()]
    if sort is Sort.CODE:
        return [columns.code]
    return [columns.rank, columns.id]


def _faceted(matched: CTE, number: int, name: str) -> Part:
    part = _part(number)
    if name == "organisation":
        by_org = select(matched.c.org_id, func.count().label("n")).group_by(matched.c.org_id).subquery()
        return select(part, Organisation.code, by_org.c.n, _NO_NUMBER).join(
            Organisation, Organisation.id == by_org.c.org_id
        )
    if name in MULTI_FACETS:
        table, column = MULTI_FACETS[name]
        # The matched rows first, their values looked up by key (not every value scanned in order).
        joined = matched.join(table, table.resource_id == search.read_first(matched.c.id))  # type: ignore[attr-defined]
        return select(part, column, func.count(), _NO_NUMBER).select_from(joined).group_by(column)
    value = matched.c[SCALAR_FACETS[name].key]
    return select(part, value, func.count(), _NO_NUMBER).group_by(value)


def _part(number: int) -> ColumnElement[int]:
    return literal_column(str(number), Integer)


_NO_TEXT = cast(null(), String)
_NO_NUMBER = cast(null(), Integer)


def _top(counts: Iterable[tuple[str, int]], limit: int) -> list[FacetValue]:
    ordered = sorted(counts, key=lambda vc: (-vc[1], vc[0]))
    return [FacetValue(value=str(value), count=count) for value, count in ordered[:limit]]


# --- without words: the database aggregates ------------------------------------------------------------


def _without_words(session: Session, actor: Actor, query: SearchQuery) -> Found:
    base = select(Resource.id).where(*conditions(actor, query))
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = session.scalars(_ordered(base, query.sort or Sort.NEWEST).offset(query.offset).limit(query.limit)).all()
    facets = {name: _facet_in_sql(session, base, name, query.facet_limit) for name in query.facets}
    return Found(count, list(page), facets)


def _ordered(base: Select[int], sort: Sort) -> Select[int]:
    if sort is Sort.MOST_USED:
        return base.order_by(Resource.use_count.desc(), Resource.id.desc())
    if sort is Sort.CODE:
        return base.order_by(Resource.code)
    return base.order_by(Resource.published_at.desc().nulls_last(), Resource.id.desc())  # newest (and relevance)


def _facet_in_sql(session: Session, base: Select[int], name: str, limit: int) -> list[FacetValue]:
    matched = select(base.subquery().c.id)
    if name == "organisation":
        column: Any = Organisation.code
        counting = select(column, func.count()).join(Resource, Resource.org_id == Organisation.id)
        counting = counting.where(Resource.id.in_(matched))
    elif name in MULTI_FACETS:
        table, column = MULTI_FACETS[name]
        counting = select(column, func.count()).where(table.resource_id.in_(matched))  # type: ignore[attr-defined]
    else:
        column = SCALAR_FACETS[name]
        counting = select(column, func.count()).where(Resource.id.in_(matched))
    rows = session.execute(counting.group_by(column).order_by(func.count().desc(), column).limit(limit))
    return [FacetValue(value=str(value), count=count) for value, count in rows]
