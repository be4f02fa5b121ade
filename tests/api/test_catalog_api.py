"""The catalog over REST: registration to publication, search with facets and pages, errors, data elements."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sluice.platform import Platform
from tests.catalog.conftest import draft
from tests.conftest import bearer


def test_register_submit_review_over_the_api(demo: Platform, demo_client: TestClient) -> None:
    provider, manager = bearer(demo, "psb-admin"), bearer(demo, "manager")
    body = draft().model_dump(mode="json")
    created = demo_client.post("/api/v1/resources", headers=provider, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert demo_client.post("/api/v1/resources/psb.vehicles/submit", headers=provider).json()["status"] == "submitted"
    queue = demo_client.get("/api/v1/resources/review-queue", headers=manager).json()
    assert [r["code"] for r in queue] == ["psb.vehicles"]
    returned = demo_client.post("/api/v1/resources/psb.vehicles/review", headers=manager, json={"decision": "return"})
    assert returned.status_code == 422
    assert returned.json()["error"]["detail"]["field"] == "comment"
    published = demo_client.post("/api/v1/resources/psb.vehicles/review", headers=manager, json={"decision": "publish"})
    assert published.json()["status"] == "published"
    history = demo_client.get("/api/v1/resources/psb.vehicles/revisions", headers=provider).json()
    assert [r["status"] for r in history] == ["published"]


def test_a_duplicate_is_409_and_a_bad_rule_is_422_naming_the_field(demo: Platform, demo_client: TestClient) -> None:
    provider = bearer(demo, "psb-admin")
    duplicate = demo_client.post(
        "/api/v1/resources", headers=provider, json=draft("psb.residents").model_dump(mode="json")
    )
    assert duplicate.status_code == 409
    core_open = draft(grade="core", open_type="open", licence="CC-BY-4.0").model_dump(mode="json")
    refused = demo_client.post("/api/v1/resources", headers=provider, json=core_open)
    assert refused.status_code == 422
    assert refused.json()["error"]["detail"] == {"field": "open_type", "rule": "core_never_open"}
    bad_code = {**draft().model_dump(mode="json"), "code": "psb/vehicles"}
    malformed = demo_client.post("/api/v1/resources", headers=provider, json=bad_code)
    assert malformed.status_code == 422
    assert "not a valid resource code" in malformed.json()["error"]["message"]


def test_search_with_words_filters_facets_and_pages(demo_client: TestClient) -> None:
    first = demo_client.get("/api/v1/resources", params={"q": "交通", "limit": 5, "facet": ["organisation", "format"]})
    body = first.json()
    assert first.status_code == 200
    assert body["count"] > 5
    assert set(body["facets"]) == {"organisation", "format"}
    second = demo_client.get("/api/v1/resources", params={"q": "交通", "limit": 5, "next": body["next"]}).json()
    assert not {r["code"] for r in body["items"]} & {r["code"] for r in second["items"]}
    only_open = demo_client.get("/api/v1/resources", params={"open_type": "open", "limit": 100}).json()
    assert {r["open_type"] for r in only_open["items"]} == {"open"}
    bad = demo_client.get("/api/v1/resources", params={"facet": "colour"})
    assert bad.status_code == 422
    assert "unknown facet" in bad.json()["error"]["message"]
    forged = demo_client.get("/api/v1/resources", params={"next": "abc"})
    assert forged.status_code == 422


def test_a_resource_the_caller_may_not_see_is_404(demo: Platform, demo_client: TestClient) -> None:
    assert demo_client.get("/api/v1/resources/psb.residents").status_code == 404
    shown = demo_client.get("/api/v1/resources/psb.residents", headers=bearer(demo, "civil-analyst"))
    assert shown.status_code == 200
    assert shown.json()["fields"][0]["data_element"] == "resident_id"


def test_data_elements_are_public_and_added_by_the_manager(demo: Platform, demo_client: TestClient) -> None:
    listed = demo_client.get("/api/v1/data-elements").json()
    assert "resident_id" in {e["code"] for e in listed}
    one = demo_client.get("/api/v1/data-elements/credit_code").json()
    assert one["standard"] == "GB 32100-2015"
    body = {"code": "plate_number", "name_zh": "号牌", "name_en": "Plate", "pattern": "[A-Z][0-9]{5}"}
    assert demo_client.post("/api/v1/data-elements", json=body, headers=bearer(demo, "psb-admin")).status_code == 403
    assert demo_client.post("/api/v1/data-elements", json=body, headers=bearer(demo, "manager")).status_code == 201
