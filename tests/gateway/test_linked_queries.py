"""Governed queries answered by the department's own database: psb.residents linked to a ``people`` table in
PostgreSQL, MariaDB or SQLite; the demo grant (civil → psb.residents: masks, one district) enforced there,
through the same use cases, API routes and receipts as the lake — and the data never copied to the lake."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sluice.demo.grants import MARRIAGE_CHECK
from sluice.errors import Exhausted, Forbidden, Invalid, SluiceError
from sluice.gateway import engines
from sluice.gateway.querying import query
from sluice.gateway.receipts import Receipt, verify
from sluice.gateway.schemas import QueryRequest
from sluice.platform import Platform
from sluice.sources import service as sources
from sluice.sources.schemas import SourceLink
from tests.conftest import bearer
from tests.gateway.test_policy import REFUSED
from tests.gateway.test_query import user
from tests.source_dbs import mysql_database, postgres_database
from tests.sources.test_linked import ROWS, _fill

IN_DISTRICT = [r for r in ROWS if r["division_code"] == "110105"]


@pytest.fixture(params=["postgresql", "mysql", "sqlite"])
def linked(request: pytest.FixtureRequest, demo: Platform, tmp_path: Path) -> Iterator[str]:
    """psb.residents linked to a department database of each kind; yields the kind."""
    kind = str(request.param)
    if kind == "postgresql":
        with postgres_database() as url:
            yield _link(demo, url, kind)
    elif kind == "mysql":
        with mysql_database() as url:
            yield _link(demo, url, kind)
    else:
        folder = tmp_path / "department"
        folder.mkdir()
        demo.settings.source_sqlite_dirs = [folder]
        yield _link(demo, f"sqlite:///{folder / 'people.db'}", kind)


def _link(demo: Platform, url: str, kind: str) -> str:
    _fill(url, ROWS)
    with demo.transaction() as session:
        sources.link_source(
            session, user(demo, "psb-admin"), code="psb.residents", link=SourceLink(url=url, table="people")
        )
    return kind


def test_the_grant_is_enforced_by_the_department_s_own_database(demo: Platform, linked: str) -> None:
    answer = query(
        demo,
        user(demo, "civil-analyst"),
        QueryRequest(sql="SELECT * FROM psb.residents ORDER BY id_number", purpose=MARRIAGE_CHECK),
    )
    assert answer.columns == ["id_number", "name", "gender", "birth_date", "division_code"]
    expected = [
        [
            r["id_number"][:10] + "********",
            r["name"][0] + "*" * (len(r["name"]) - 1),
            r["gender"],
            r["birth_date"],
            "110105",
        ]
        for r in sorted(IN_DISTRICT, key=lambda r: r["id_number"][:10])
    ]
    assert answer.rows == expected
    assert answer.receipt.body["rows"] == len(IN_DISTRICT)


def test_predicates_see_masked_values_and_fields_outside_the_grant_are_refused(demo: Platform, linked: str) -> None:
    analyst = user(demo, "civil-analyst")
    raw_id = IN_DISTRICT[0]["id_number"]
    probe = query(
        demo,
        analyst,
        QueryRequest(sql=f"SELECT count(*) FROM psb.residents WHERE id_number = '{raw_id}'", purpose=MARRIAGE_CHECK),
    )
    assert probe.rows == [[0]]  # the raw number is never seen, not even by a WHERE
    with pytest.raises(Forbidden, match=r"the field phone of psb\.residents is not in your grant"):
        query(demo, analyst, QueryRequest(sql="SELECT phone FROM psb.residents", purpose=MARRIAGE_CHECK))


def test_rows_and_downloads_of_a_linked_resource_take_the_same_path(
    demo: Platform, demo_client: TestClient, linked: str
) -> None:
    headers = bearer(demo, "civil-analyst")
    page = demo_client.get(
        "/api/v1/resources/psb.residents/rows",
        params={"purpose": MARRIAGE_CHECK, "gender__exact": "1", "_sort": "id_number"},
        headers=headers,
    )
    assert page.status_code == 200, page.text
    assert {row[4] for row in page.json()["rows"]} == {"110105"}
    csv = demo_client.get(
        "/api/v1/resources/psb.residents/download", params={"purpose": MARRIAGE_CHECK, "format": "csv"}, headers=headers
    )
    assert csv.status_code == 200, csv.text
    lines = csv.content.decode("utf-8").splitlines()
    assert lines[0] == '"id_number","name","gender","birth_date","division_code"'
    assert len(lines) == 1 + len(IN_DISTRICT)
    receipt = Receipt.model_validate_json(base64.b64decode(csv.headers["X-Sluice-Receipt"]))
    assert verify(receipt, demo.signer.public_key_pem)
    assert receipt.body["rows"] == len(IN_DISTRICT)


def test_a_linked_resource_cannot_be_joined_with_the_lake(demo: Platform, linked: str) -> None:
    sql = "SELECT r.name, e.name FROM psb.residents r JOIN amr.enterprises e ON r.division_code = e.credit_code"
    with pytest.raises(Invalid, match="one query cannot combine them"):
        query(demo, user(demo, "civil-analyst"), QueryRequest(sql=sql, purpose=MARRIAGE_CHECK))


@pytest.fixture
def pg_engine() -> Iterator[engines.Engine]:
    with postgres_database() as url:
        _fill(url, ROWS)
        yield engines.PostgresEngine(url)


@pytest.fixture
def mysql_engine() -> Iterator[engines.Engine]:
    with mysql_database() as url:
        _fill(url, ROWS)
        yield engines.MySQLEngine(url)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> engines.Engine:
    url = f"sqlite:///{tmp_path / 'people.db'}"
    _fill(url, ROWS)
    return engines.SQLiteEngine(url)


SLOW = {
    "pg_engine": "SELECT pg_sleep(5)",
    "mysql_engine": "SELECT SLEEP(5) FROM people",
    "sqlite_engine": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
}


@pytest.mark.parametrize("fixture", sorted(SLOW))
def test_each_source_engine_stops_a_query_past_its_time_limit_and_writes_nothing(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    engine: engines.Engine = request.getfixturevalue(fixture)
    with pytest.raises(Exhausted, match=r"limit of 0\.5 s"):
        engines.answer(engine, SLOW[fixture], engines.Limits(row_cap=10, seconds=0.5))
    with pytest.raises(Invalid, match="refused"):  # read-only, whatever the SQL says
        engines.answer(engine, "DELETE FROM people", engines.Limits(row_cap=10, seconds=5))
    left = engines.answer(engine, "SELECT count(*) FROM people", engines.Limits(row_cap=10, seconds=5))
    assert left.rows == [(len(ROWS),)]


@pytest.mark.parametrize("fixture", ["pg_engine", "mysql_engine", "sqlite_engine"])
def test_each_source_engine_streams_at_most_one_row_past_the_cap(fixture: str, request: pytest.FixtureRequest) -> None:
    engine: engines.Engine = request.getfixturevalue(fixture)
    answer = engines.answer(engine, "SELECT id_number FROM people", engines.Limits(row_cap=2, seconds=5))
    assert len(answer.rows) == 2
    assert answer.truncated
    assert json.dumps([list(r) for r in answer.rows])


@pytest.fixture
def pg_linked(demo: Platform) -> Iterator[Platform]:
    with postgres_database() as url:
        _link(demo, url, "postgresql")
        yield demo


def test_the_hostile_corpus_is_refused_for_a_postgresql_linked_resource_too(pg_linked: Platform) -> None:
    analyst = user(pg_linked, "civil-analyst")
    for sql, error, naming in REFUSED:
        if not sql or len(sql) > 20_000:
            with pytest.raises(ValidationError):  # refused by the request's own shape, before the gateway
                QueryRequest(sql=sql, purpose=MARRIAGE_CHECK)
            continue
        with pytest.raises(SluiceError) as refused:
            query(pg_linked, analyst, QueryRequest(sql=sql, purpose=MARRIAGE_CHECK))
        assert type(refused.value) is error, sql
        assert naming.lower() in refused.value.message.lower(), sql
