"""Query shapes: compared values come out of the cached plan and go back in as literals of the engine's
dialect — the plan is shared by every point lookup, each lookup still answers its own value, and nothing
that is not a compared value (ORDER BY positions, LIMIT, function arguments) is ever taken out."""

from __future__ import annotations

import pytest
from sqlglot import parse_one

from sluice.demo.grants import MARRIAGE_CHECK
from sluice.gateway.masks import DIALECTS
from sluice.gateway.plans import PLANS
from sluice.gateway.shapes import NONCE, shape_of
from sluice.platform import Platform
from tests.gateway.test_query import ask


def test_only_compared_values_are_taken_out() -> None:
    shape = shape_of(
        "SELECT name, left(id_number, 6) FROM psb.residents WHERE id_number = 'A' AND gender IN ('1', '2') "
        "AND birth_date BETWEEN '1990-01-01' AND '1999-12-31' AND name LIKE '张%' ORDER BY 1 LIMIT 5"
    )
    assert [v.name for v in shape.values] == ["A", "1", "2", "1990-01-01", "1999-12-31", "张%"]
    assert "ORDER BY 1 LIMIT 5" in shape.template
    assert "LEFT(id_number, 6)" in shape.template or "left(id_number, 6)" in shape.template.lower()


def test_a_query_holding_the_nonce_keeps_its_values() -> None:
    assert shape_of(f"SELECT name FROM psb.residents WHERE name = 'sluice_{NONCE}_0'").values == ()


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_values_go_back_as_literals_of_each_dialect(dialect: str) -> None:
    tricky = "O'Brien \\ 'x' -- ; DROP"
    sql = f"SELECT name FROM psb.residents WHERE name = '{tricky.replace(chr(39), chr(39) * 2)}' AND gender = 1"
    shape = shape_of(sql)
    engine_sql = shape.template  # stands for a rewritten query: markers in, in DuckDB's text
    filled = shape.fill(parse_one(engine_sql, dialect="duckdb").sql(dialect=dialect), DIALECTS[dialect])
    direct = parse_one(sql, dialect="duckdb").sql(dialect=dialect)
    assert filled == direct


def test_every_lookup_shares_one_plan_and_answers_its_own_value(demo: Platform) -> None:
    everyone = ask(demo, "civil-analyst", "SELECT name, birth_date FROM psb.residents ORDER BY 1, 2 LIMIT 5").rows
    PLANS.clear()
    for name, born in everyone:
        got = ask(
            demo,
            "civil-analyst",
            f"SELECT name, birth_date FROM psb.residents WHERE name = '{name}' AND birth_date = '{born}'",
            purpose=MARRIAGE_CHECK,
        )
        assert [name, born] in got.rows
        assert all(row == [name, born] for row in got.rows)
    assert len(PLANS._plans) == 1
