"""Resources the operator assigns to Spark are answered by Spark (local mode, one session per test run) with
exactly the answers DuckDB gives — the same grant, masks and row filter — and Spark, too, reads nothing but
the version it is given and stops a query past its time limit."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluice.cli.main import app
from sluice.demo.grants import MARRIAGE_CHECK
from sluice.errors import Exhausted, Forbidden, Invalid
from sluice.gateway import engines, placement
from sluice.gateway.querying import export, query
from sluice.gateway.schemas import Delivery, QueryRequest
from sluice.platform import Platform
from sluice.settings import Settings
from tests.conftest import SYSTEM
from tests.gateway.test_query import user

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark_ready")]

QUERIES = [
    "SELECT * FROM psb.residents",
    "SELECT gender, count(*) AS n FROM psb.residents GROUP BY gender",
    "SELECT name, row_number() OVER (PARTITION BY gender ORDER BY id_number, name) AS k FROM psb.residents",
    "WITH x AS (SELECT id_number, birth_date FROM psb.residents) SELECT count(DISTINCT id_number), min(birth_date) FROM x",
]


def ask(demo: Platform, sql: str) -> list[str]:
    answer = query(demo, user(demo, "civil-analyst"), QueryRequest(sql=sql, purpose=MARRIAGE_CHECK, limit=100_000))
    return sorted(map(repr, answer.rows))


def test_spark_answers_as_duckdb_does_under_the_same_grant(demo: Platform) -> None:
    by_duckdb = {sql: ask(demo, sql) for sql in QUERIES}
    with demo.transaction() as session:
        placement.assign_engine(session, SYSTEM, code="psb.residents", engine=placement.Assignable.SPARK)
    for sql in QUERIES:
        assert ask(demo, sql) == by_duckdb[sql], sql
    masked = query(demo, user(demo, "civil-analyst"), QueryRequest(sql=QUERIES[0], purpose=MARRIAGE_CHECK))
    assert all(row[0].endswith("********") and row[4] == "110105" for row in masked.rows)
    with pytest.raises(Forbidden, match="phone"):
        query(
            demo,
            user(demo, "civil-analyst"),
            QueryRequest(sql="SELECT phone FROM psb.residents", purpose=MARRIAGE_CHECK),
        )


def test_a_spark_export_is_streamed_with_its_receipt(demo: Platform) -> None:
    with demo.transaction() as session:
        placement.assign_engine(session, SYSTEM, code="psb.residents", engine=placement.Assignable.SPARK)
    request = QueryRequest(sql="SELECT * FROM psb.residents", purpose=MARRIAGE_CHECK)
    made = export(demo, user(demo, "civil-analyst"), request, fmt="csv", delivery=Delivery.DOWNLOAD)
    lines = made.read().decode("utf-8").splitlines()
    assert len(lines) == made.rows + 1
    assert Counter(line.split(",")[4] for line in lines[1:]) == Counter({'"110105"': made.rows})


def test_the_operator_assigns_engines_from_the_shell(demo_settings: Settings) -> None:
    runner = CliRunner(
        env={"SLUICE_DATA_DIR": str(demo_settings.data_dir), "SLUICE_DATABASE_URL": demo_settings.database_url}
    )
    ran = runner.invoke(app, ["engines", "assign", "psb.residents", "spark"])
    assert ran.exit_code == 0, ran.output
    listed = runner.invoke(app, ["engines", "list"])
    assert "psb.residents" in listed.stdout
    assert "spark" in listed.stdout
    refused = runner.invoke(app, ["--as", "civil-analyst", "engines", "assign", "psb.residents", "duckdb"])
    assert refused.exit_code == 1
    assert "operator" in refused.output


def test_spark_reads_no_files_and_stops_a_query_past_its_time_limit(tmp_path: Path) -> None:
    from sluice.gateway.spark import SparkEngine

    engine = SparkEngine(Settings(data_dir=tmp_path / "data"), {})
    with pytest.raises(Invalid, match="failed in Spark"):
        engines.answer(engine, "SELECT * FROM parquet.`/etc/hostname`", engines.Limits(row_cap=10, seconds=30))
    endless = "SELECT count(*) FROM range(1000000) a CROSS JOIN range(1000000) b"
    with pytest.raises(Exhausted, match="limit"):
        engines.answer(engine, endless, engines.Limits(row_cap=10, seconds=1))
