"""Governed queries on the demo government: grants, masks, row filters, purpose, term, quota, open data,
the locked-down engine, and the audit of every answer and refusal."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.demo.grants import MARRIAGE_CHECK, MARRIAGE_GRANT
from sluice.errors import Exhausted, Forbidden, Invalid
from sluice.gateway import engines
from sluice.gateway.models import Grant
from sluice.gateway.querying import query
from sluice.gateway.schemas import GrantCreate, QueryRequest
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform
from sluice.sharing import service as sharing
from tests.conftest import SYSTEM, bearer


def user(platform: Platform, username: str) -> Actor:
    with platform.reading() as session:
        return actor_for_user(find_user(session, username), via="test")


def ask(platform: Platform, username: str | None, sql: str, purpose: str = MARRIAGE_CHECK, limit: int = 1000):  # type: ignore[no-untyped-def]
    actor = user(platform, username) if username else Actor.anonymous()
    return query(platform, actor, QueryRequest(sql=sql, purpose=purpose, limit=limit))


def test_the_civil_analyst_sees_masked_residents_of_one_district_only(demo: Platform) -> None:
    answer = ask(demo, "civil-analyst", "SELECT * FROM psb.residents")
    assert answer.columns == ["id_number", "name", "gender", "birth_date", "division_code"]  # no phone, address
    assert answer.row_count > 0
    for id_number, name, _gender, _born, division in answer.rows:
        assert division == "110105"
        assert id_number.startswith("110105")
        assert id_number.endswith("********")
        assert name[1:] == "*" * (len(name) - 1)
    assert answer.grants != []
    with demo.reading() as session:
        event = session.get(AuditEvent, answer.audit_event)
        assert event is not None
        entry = json.loads(event.entry)
    assert entry["action"] == "gateway.query"
    assert entry["detail"]["rows"] == answer.row_count
    assert entry["detail"]["masks"] == {"psb.residents": {"id_number": "ID_REGION_BIRTH_YEAR", "name": "NAME_SURNAME"}}
    assert entry["detail"]["result_digest"] == answer.result_digest


def test_a_count_covers_only_the_granted_rows(demo: Platform) -> None:
    everyone = ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents").rows[0][0]
    chaoyang = ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents WHERE division_code = '110105'").rows[0][
        0
    ]
    outside = ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents WHERE division_code <> '110105'").rows[0][
        0
    ]
    assert everyone == chaoyang > 0
    assert outside == 0


def test_refusals_name_the_field_the_purpose_or_the_missing_grant_and_are_audited(demo: Platform) -> None:
    with pytest.raises(Forbidden, match="phone"):
        ask(demo, "civil-analyst", "SELECT phone FROM psb.residents")
    with pytest.raises(Forbidden, match="purpose"):
        ask(demo, "civil-analyst", "SELECT name FROM psb.residents", purpose="marketing")
    with pytest.raises(Forbidden, match=r"no grant for psb\.residents"):  # a department without a grant
        ask(demo, "health-analyst", "SELECT name FROM psb.residents")
    with pytest.raises(Invalid, match="unknown table"):  # an enterprise does not even see it in the catalog
        ask(demo, "bank-analyst", "SELECT name FROM psb.residents")
    with pytest.raises(Invalid, match="unknown table"):  # nor does the public
        ask(demo, None, "SELECT name FROM psb.residents")
    with demo.reading() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.refuse")).all()
    assert len(refusals) == 5


def test_open_data_is_answered_to_anyone(demo: Platform) -> None:
    answer = ask(
        demo, None, "SELECT credit_code, name FROM amr.enterprises ORDER BY credit_code LIMIT 3", purpose="research"
    )
    assert answer.row_count == 3
    assert answer.grants == []


def test_quota_and_term_stop_the_very_next_call(demo: Platform, clock: FixedClock) -> None:
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        grant.quota = grant.calls_used + 1
    ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")
    with pytest.raises(Exhausted, match="quota"):
        ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(quota=None))
    clock.advance(timedelta(days=400))
    with pytest.raises(Forbidden, match="expired"):
        ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")


def test_a_revoked_grant_stops_the_next_call(demo: Platform) -> None:
    ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(status="revoked"))
    with pytest.raises(Forbidden, match="revoked"):
        ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")


def test_the_engine_cannot_read_outside_the_lake_nor_change_its_settings(demo: Platform) -> None:
    lake = engines.DuckDBEngine(demo.settings.lake_dir)
    with pytest.raises(Invalid, match="failed"):
        engines.answer(lake, "SELECT * FROM read_text('/etc/passwd')", engines.Limits(row_cap=10, seconds=5))
    con = engines.locked_connection(demo.settings.lake_dir)
    with pytest.raises(duckdb.Error, match="locked"):
        con.execute("SET enable_external_access = true")
    shared = engines.lake_database(demo.settings.lake_dir, memory_limit="1GB", threads=2).cursor()
    with pytest.raises(duckdb.Error, match="locked"):  # a cursor of the process's database is locked too
        shared.execute("SET allowed_directories = ['/']")
    with pytest.raises(duckdb.Error, match=r"[Pp]ermission"):
        shared.execute("SELECT * FROM read_text('/etc/passwd')")


def test_a_query_past_its_time_limit_is_stopped(demo: Platform) -> None:
    endless = "SELECT count(*) FROM range(100000000000) a"
    lake = engines.DuckDBEngine(demo.settings.lake_dir)
    with pytest.raises(Exhausted, match="limit"):
        engines.answer(lake, endless, engines.Limits(row_cap=10, seconds=0.5))


def test_the_row_cap_truncates_and_says_so(demo: Platform) -> None:
    answer = ask(demo, "civil-analyst", "SELECT name FROM psb.residents", limit=5)
    assert answer.row_count == 5
    assert answer.truncated


def test_grants_are_recorded_by_the_manager_and_checked(demo: Platform) -> None:
    base = {
        "resource": "psb.residents",
        "assignee": "health",
        "purpose": "vaccination follow-up",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
    }
    names_only = GrantCreate.model_validate({**base, "fields": ["name"]})
    with demo.transaction() as session, pytest.raises(Forbidden):
        sharing.create_grant(session, user(demo, "psb-admin"), data=names_only)
    with demo.transaction() as session, pytest.raises(Invalid, match="no field"):
        sharing.create_grant(session, SYSTEM, data=GrantCreate.model_validate({**base, "fields": ["salary"]}))
    with demo.transaction() as session, pytest.raises(Invalid, match="masks dates"):
        sharing.create_grant(
            session,
            SYSTEM,
            data=GrantCreate.model_validate({**base, "fields": ["name"], "masks": {"name": {"kind": "DATE_YEAR"}}}),
        )
    for hostile in (
        "1=1; DROP TABLE users",
        "name IN (SELECT name FROM psb.residents)",
        "getenv('x') = ''",
        "salary > 1",
    ):
        with demo.transaction() as session, pytest.raises(Invalid, match="row filter"):
            sharing.create_grant(
                session, SYSTEM, data=GrantCreate.model_validate({**base, "fields": ["name"], "row_filter": hostile})
            )


def test_the_api_answers_with_digests_and_refuses_in_the_one_error_shape(
    demo: Platform, demo_client: TestClient
) -> None:
    answered = demo_client.post(
        "/api/v1/query",
        json={
            "sql": "SELECT gender, count(*) AS n FROM psb.residents GROUP BY gender ORDER BY gender",
            "purpose": MARRIAGE_CHECK,
        },
        headers=bearer(demo, "civil-analyst"),
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["columns"] == ["gender", "n"]
    assert len(body["query_digest"]) == 64
    assert len(body["result_digest"]) == 64
    refused = demo_client.post(
        "/api/v1/query",
        json={"sql": "DROP TABLE psb.residents", "purpose": "x y"},
        headers=bearer(demo, "civil-analyst"),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    mine = demo_client.get("/api/v1/grants", headers=bearer(demo, "civil-analyst"))
    assert [g["resource"] for g in mine.json()] == ["psb.residents"]
    assert "key_hex" not in mine.text


def test_a_cached_plan_is_never_used_after_its_grant_changes(demo: Platform) -> None:
    sql = "SELECT id_number, name FROM psb.residents ORDER BY id_number LIMIT 3"
    first = ask(demo, "civil-analyst", sql)
    assert ask(demo, "civil-analyst", sql).rows == first.rows  # the second call is answered from the cached plan
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        assert grant is not None
        grant.masks_json = json.dumps({"id_number": {"kind": "MASK_HASH"}})
    rehashed = ask(demo, "civil-analyst", sql)
    assert all(len(row[0]) == 64 for row in rehashed.rows)  # the new mask, not the cached one
    assert rehashed.rows[0][1] != first.rows[0][1] or "*" not in rehashed.rows[0][1]  # the name mask is gone
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        assert grant is not None
        grant.fields_json = json.dumps(["gender"])
    with pytest.raises(Forbidden, match="id_number"):
        ask(demo, "civil-analyst", sql)


def test_a_grant_without_a_quota_counts_each_answer_and_no_refusal(demo: Platform) -> None:
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(quota=None, calls_used=0))
    ask(demo, "civil-analyst", "SELECT count(*) FROM psb.residents")
    ask(demo, "civil-analyst", "SELECT gender FROM psb.residents LIMIT 1")
    with pytest.raises(Forbidden):
        ask(demo, "civil-analyst", "SELECT phone FROM psb.residents")
    with demo.reading() as session:
        assert session.scalars(select(Grant.calls_used).where(MARRIAGE_GRANT)).one() == 2
