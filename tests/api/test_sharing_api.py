"""The sharing workflow over REST: apply, approve, countersign, query under the grant, check the contract with
the published key, suspend it, flag a record; errors keep their shape and status."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from sluice.gateway.receipts import Receipt, verify
from sluice.platform import Platform
from tests.conftest import START, bearer
from tests.sharing.conftest import BASIS, PURPOSE


def test_an_application_from_filing_to_use_over_the_api(demo: Platform, demo_client: TestClient) -> None:
    consumer, provider, manager = bearer(demo, "civil-analyst"), bearer(demo, "nra-admin"), bearer(demo, "manager")
    body = {
        "items": [{"resource": "nra.real_estate", "fields": ["certificate_no", "owner_id", "location"]}],
        "purpose": PURPOSE,
        "legal_basis": BASIS,
        "valid_until": (START + timedelta(days=90)).isoformat(),
        "quota": 50,
    }
    filed = demo_client.post("/api/v1/applications", headers=consumer, json=body)
    assert filed.status_code == 201, filed.text
    application = filed.json()[0]
    assert application["deadline"]["day"] == "2026-12-14"
    queue = demo_client.get("/api/v1/applications", headers=provider, params={"box": "to_me"}).json()
    assert [a["id"] for a in queue["items"]] == [application["id"]]
    refused = demo_client.post(f"/api/v1/applications/{application['id']}/refuse", headers=provider, json={})
    assert refused.status_code == 422
    assert refused.json()["error"]["detail"]["rule"] == "reason_required"
    endorsed = demo_client.post(
        f"/api/v1/applications/{application['id']}/approve", headers=provider, json={"comment": "同意"}
    )
    assert endorsed.json()["status"] == "awaiting_countersign"
    assert demo_client.get("/api/v1/applications", headers=manager, params={"box": "countersign"}).json()["items"]
    signed = demo_client.post(f"/api/v1/applications/{application['id']}/countersign", headers=manager, json={})
    grant_id = signed.json()["grant"]
    assert signed.json()["status"] == "approved"
    answer = demo_client.post(
        "/api/v1/query",
        headers=consumer,
        json={"sql": "SELECT certificate_no, owner_id FROM nra.real_estate LIMIT 3", "purpose": PURPOSE},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["grants"] == [grant_id]
    contract = demo_client.get(f"/api/v1/grants/{grant_id}/contract", headers=consumer).json()
    key = demo_client.get("/api/v1/keys").json()[0]["public_key_pem"]
    assert [s["party"] for s in contract["signatures"]] == ["assigner", "countersigner", "assignee"]
    assert all(verify(Receipt.model_validate(s["receipt"]), key) for s in contract["signatures"])
    grants = demo_client.get("/api/v1/grants", headers=consumer).json()
    assert next(g for g in grants if g["id"] == grant_id)["calls_left"] == 49
    suspended = demo_client.post(f"/api/v1/grants/{grant_id}/suspend", headers=provider, json={"reason": "核查"})
    assert suspended.json()["status"] == "suspended"
    again = demo_client.post(
        "/api/v1/query", headers=consumer, json={"sql": "SELECT location FROM nra.real_estate", "purpose": PURPOSE}
    )
    assert again.status_code == 403
    assert "suspended" in again.json()["error"]["message"]
    history = demo_client.get(f"/api/v1/applications/{application['id']}", headers=consumer).json()["history"]
    assert [e["action"] for e in history] == ["file", "endorse", "countersign", "issue", "suspend"]


def test_strangers_see_nothing_and_wrong_states_are_409(demo: Platform, demo_client: TestClient) -> None:
    consumer = bearer(demo, "civil-analyst")
    body = {
        "items": [{"resource": "nra.real_estate", "fields": ["location"]}],
        "purpose": PURPOSE,
        "legal_basis": BASIS,
        "valid_until": (START + timedelta(days=90)).isoformat(),
    }
    application = demo_client.post("/api/v1/applications", headers=consumer, json=body).json()[0]
    stranger = demo_client.get(f"/api/v1/applications/{application['id']}", headers=bearer(demo, "health-analyst"))
    assert stranger.status_code == 404
    anonymous = demo_client.get("/api/v1/applications")
    assert anonymous.status_code == 401
    assert demo_client.post(f"/api/v1/applications/{application['id']}/withdraw", headers=consumer).status_code == 200
    late = demo_client.post(
        f"/api/v1/applications/{application['id']}/approve", headers=bearer(demo, "nra-admin"), json={}
    )
    assert late.status_code == 409
    assert "withdrawn" in late.json()["error"]["message"]


def test_objections_over_the_api(demo: Platform, demo_client: TestClient) -> None:
    consumer, provider = bearer(demo, "civil-analyst"), bearer(demo, "psb-admin")
    row = demo_client.post(
        "/api/v1/query",
        headers=consumer,
        json={"sql": "SELECT id_number FROM psb.residents LIMIT 1", "purpose": "marriage registration verification"},
    ).json()["rows"][0]
    assert row[0].endswith("*")  # the consumer sees a masked key: it names the record as the provider holds it
    raised = demo_client.post(
        "/api/v1/objections",
        headers=consumer,
        json={
            "resource": "psb.residents",
            "record": {"id_number": "11010519491231002X"},
            "field": "gender",
            "claimed_value": "2",
            "evidence": "当事人身份证原件",
        },
    )
    assert raised.status_code == 201, raised.text
    objection = raised.json()
    rejected = demo_client.post(
        f"/api/v1/objections/{objection['id']}/reject", headers=provider, json={"reason": "无此记录"}
    )
    assert rejected.json()["status"] == "rejected"
    rates = demo_client.get("/api/v1/objections/rates", headers=bearer(demo, "manager")).json()
    assert next(r for r in rates if r["key"] == "psb.residents")["rejected"] == 1
