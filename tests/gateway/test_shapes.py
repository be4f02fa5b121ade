"""Query shapes: compared values come out of the cached plan and go back in as literals of the engine's
dialect — the plan is shared by every point lookup, each lookup still answers its own value, and nothing
that is not a compared value (ORDER BY positions, LIMIT, function arguments) is ever taken out."""

from __future__ import annotations

import pytest
from sqlglot import parse_one

from sluice.demo.grants import MARRIAGE_CHECK
from sluice.gateway.masks import DIALECTS
from sluice.gateway.plans import PLANS
from sluice.gateway.shapes import NONCE, SKELETONS, Shape, parsed_shape, shape_of
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


def _parsed_now(sql: str) -> Shape:
    return parsed_shape.__wrapped__(sql)  # parsed afresh, past every cache


def test_a_lookup_like_one_before_is_not_parsed_again_and_carries_its_own_value_and_digest() -> None:
    SKELETONS.clear()
    first = "SELECT name FROM psb.residents WHERE id_number = '110105194912310021' AND gender IN ('1', 2) LIMIT 5"
    shape_of(first)
    parses = parsed_shape.cache_info().misses
    second = "SELECT name FROM psb.residents WHERE id_number = '440305198811110016' AND gender IN ('2', 1) LIMIT 5"
    reused = shape_of(second)
    assert parsed_shape.cache_info().misses == parses  # found by its skeleton
    fresh = _parsed_now(second)
    assert reused.values == fresh.values
    assert [v.name for v in reused.values] == ["440305198811110016", "2", "1"]
    assert reused.digest == fresh.digest  # the audit names the query exactly as parsing would
    assert reused.template == fresh.template


def test_a_skeleton_is_not_reused_when_a_value_outside_the_comparisons_differs() -> None:
    SKELETONS.clear()
    shape_of("SELECT name FROM psb.residents WHERE gender = '1' ORDER BY 1 LIMIT 5")
    other = shape_of("SELECT name FROM psb.residents WHERE gender = '2' ORDER BY 2 LIMIT 500")
    assert "ORDER BY 2 LIMIT 500" in other.template
    assert [v.name for v in other.values] == ["2"]


def test_a_quote_in_a_value_stays_inside_it_when_the_skeleton_is_reused() -> None:
    SKELETONS.clear()
    shape_of("SELECT name FROM psb.residents WHERE name = 'a'")
    hostile = "SELECT name FROM psb.residents WHERE name = 'x'' OR 1=1 --'"
    reused = shape_of(hostile)
    assert [v.name for v in reused.values] == ["x' OR 1=1 --"]
    assert reused.digest == _parsed_now(hostile).digest


def test_a_query_with_comments_is_always_parsed() -> None:
    SKELETONS.clear()
    shape_of("SELECT name FROM psb.residents WHERE name = 'a' /* one */")
    parses = parsed_shape.cache_info().misses
    shape_of("SELECT name FROM psb.residents WHERE name = 'b' /* one */")
    assert parsed_shape.cache_info().misses == parses + 1
