"""A version's profile: per column nulls, distinct estimate, min/max, top values and a histogram.

Computed by DuckDB over the version's Parquet file. Personal fields get counts and a length histogram only:
their minimum, maximum and most frequent values would be personal data themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import FieldType, Sensitivity
from sluice.lake.schemas import ColumnProfile, Histogram, Profile
from sluice.lake.validation import DIALECT, ident

TOP = 10
BINS = 10
NUMERIC = (FieldType.INTEGER, FieldType.DECIMAL)


def profile(con: duckdb.DuckDBPyConnection, data: Path, fields: list[FieldSpec], rows: int) -> Profile:
    literal = exp.Literal.string(str(data)).sql(dialect=DIALECT)
    con.execute(f"CREATE OR REPLACE TEMP VIEW version_data AS SELECT * FROM read_parquet({literal})")
    basics = ", ".join(
        f"COUNT(*) - COUNT({q}), APPROX_COUNT_DISTINCT({q}), MIN({q}), MAX({q})"
        for q in (ident(f.name).sql(dialect=DIALECT) for f in fields)
    )
    row = con.execute(f"SELECT {basics} FROM version_data").fetchone()
    assert row is not None
    columns = []
    for index, field in enumerate(fields):
        nulls, distinct, low, high = row[index * 4 : index * 4 + 4]
        personal = field.sensitivity is not Sensitivity.NONE
        columns.append(
            ColumnProfile(
                field=field.name,
                type=field.type.value,
                nulls=int(nulls),
                distinct=int(distinct),
                min=None if personal else _plain(low),
                max=None if personal else _plain(high),
                top=[] if personal else _top(con, field),
                histogram=_histogram(con, field, low, high, personal),
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
    con: duckdb.DuckDBPyConnection, field: FieldSpec, low: Any, high: Any, personal: bool
) -> Histogram | None:
    q = ident(field.name).sql(dialect=DIALECT)
    if field.type in NUMERIC and not personal and low is not None and high is not None and low != high:
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
    if field.type in (FieldType.DATE, FieldType.TIMESTAMP) and not personal:
        years = con.execute(
            f"SELECT YEAR({q}) AS y, COUNT(*) FROM version_data WHERE {q} IS NOT NULL GROUP BY y ORDER BY y"
        ).fetchall()
        return Histogram(kind="year", edges=[int(y) for y, _ in years], counts=[int(n) for _, n in years])
    if field.type is FieldType.STRING:
        lengths = con.execute(
            f"SELECT LENGTH({q}) AS l, COUNT(*) FROM version_data WHERE {q} IS NOT NULL GROUP BY l ORDER BY l LIMIT 200"
        ).fetchall()
        return Histogram(kind="length", edges=[int(n) for n, _ in lengths], counts=[int(c) for _, c in lengths])
    return None


def _plain(value: Any) -> Any:
    """JSON-friendly: dates and decimals as text, numbers as numbers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
