"""A version's profile: per column nulls, distinct estimate, min/max, top values and a histogram.

Computed by DuckDB over the version's Parquet file, in one aggregate pass (counts, HyperLogLog distinct
estimates, min/max, and length or year histograms with ``histogram``), plus one ``GROUP BY`` per column
whose values repeat enough for "most frequent" to mean something, and one per numeric column for its
equal-width histogram. Personal fields get counts and a length histogram only: their minimum, maximum and
most frequent values would be personal data themselves.
"""

from __future__ import annotations

from typing import Any

import duckdb

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import FieldType, Sensitivity
from sluice.lake.schemas import ColumnProfile, Histogram, Profile
from sluice.lake.validation import DIALECT, ident

TOP = 10
BINS = 10
NUMERIC = (FieldType.INTEGER, FieldType.DECIMAL)
DATED = (FieldType.DATE, FieldType.TIMESTAMP)
REPEATING = 0.5  # top values are listed when distinct values are fewer than this share of the rows


def profile(con: duckdb.DuckDBPyConnection, relation: str, fields: list[FieldSpec], rows: int) -> Profile:
    """Profile ``relation`` (SQL naming the rows: a ``read_parquet(…)`` call or a subquery)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW version_data AS SELECT * FROM {relation}")
    measures = []
    for field in fields:
        q = ident(field.name).sql(dialect=DIALECT)
        shape = f"histogram(YEAR({q}))" if field.type in DATED else f"histogram(LENGTH(CAST({q} AS VARCHAR)))"
        measures.append(f"COUNT(*) - COUNT({q}), APPROX_COUNT_DISTINCT({q}), MIN({q}), MAX({q}), {shape}")
    row = con.execute(f"SELECT {', '.join(measures)} FROM version_data").fetchone()
    assert row is not None
    columns = []
    for index, field in enumerate(fields):
        nulls, distinct, low, high, shape = row[index * 5 : index * 5 + 5]
        personal = field.sensitivity is not Sensitivity.NONE
        repeats = rows > 0 and int(distinct) < rows * REPEATING
        columns.append(
            ColumnProfile(
                field=field.name,
                type=field.type.value,
                nulls=int(nulls),
                distinct=int(distinct),
                min=None if personal else _plain(low),
                max=None if personal else _plain(high),
                top=_top(con, field) if repeats and not personal else [],
                histogram=_histogram(con, field, low, high, personal=personal, shape=shape or {}),
            )
        )
    return Profile(rows=rows, columns=columns)


def _top(con: duckdb.DuckDBPyConnection, field: FieldSpec) -> list[tuple[str, int]]:
    q = ident(field.name).sql(dialect=DIALECT)
    found = con.execute(
        f"SELECT CAST({q} AS VARCHAR), COUNT(*) AS n FROM version_data WHERE {q} IS NOT NULL "
        f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {TOP}"
    ).fetchall()
    return [(str(value), int(n)) for value, n in found if n > 1]


def _histogram(
    con: duckdb.DuckDBPyConnection, field: FieldSpec, low: Any, high: Any, *, personal: bool, shape: dict[Any, int]
) -> Histogram | None:
    if field.type in NUMERIC and not personal and low is not None and high is not None and low != high:
        q = ident(field.name).sql(dialect=DIALECT)
        width = (float(high) - float(low)) / BINS
        found = dict(
            con.execute(
                f"SELECT LEAST(CAST(FLOOR((CAST({q} AS DOUBLE) - ?) / ?) AS INTEGER), {BINS - 1}) AS b, COUNT(*) "
                f"FROM version_data WHERE {q} IS NOT NULL GROUP BY b",
                [float(low), width],
            ).fetchall()
        )
        edges = [round(float(low) + i * width, 6) for i in range(BINS + 1)]
        return Histogram(kind="value", edges=edges, counts=[int(found.get(i, 0)) for i in range(BINS)])
    if field.type in NUMERIC or field.type is FieldType.BOOLEAN or (field.type in DATED and personal):
        return None
    kind = "year" if field.type in DATED else "length"
    ordered = sorted((int(k), int(v)) for k, v in shape.items() if k is not None)[:200]
    return Histogram(kind=kind, edges=[k for k, _ in ordered], counts=[v for _, v in ordered])


def _plain(value: Any) -> Any:
    """JSON-friendly: dates and decimals as text, numbers as numbers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
