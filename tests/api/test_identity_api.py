"""The REST API over the demo government: /me, accounts, tokens, sign-in, health and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sluice.demo.build import DEMO_PASSWORD
from sluice.platform import Platform
from tests.conftest import bearer


def test_healthz_reports_the_database(demo_client: TestClient) -> None:
    response = demo_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_me_returns_account_organisation_and_roles(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/me", headers=bearer(demo, "psb-admin"))
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "psb-admin"
    assert me["organisation"] == "psb"
    assert me["organisation_name_zh"] == "市公安局"
    assert me["roles"] == ["org_admin", "provider"]


def test_me_without_a_token_is_401_in_the_error_shape(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_bad_token_is_401(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/me", headers={"Authorization": "Bearer slc_forged"})
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "detail"}


def test_sign_in_with_password_returns_a_working_expiring_token(demo_client: TestClient) -> None:
    response = demo_client.post("/api/v1/auth/token", data={"username": "civil-analyst", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 12 * 3600
    me = demo_client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "civil-analyst"
    tokens = demo_client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert tokens[0]["expires_at"] is not None


def test_a_wrong_password_is_401_and_counts_towards_lockout(demo_client: TestClient) -> None:
    for _ in range(5):
        response = demo_client.post("/api/v1/auth/token", data={"username": "civil-analyst", "password": "nope-nope"})
        assert response.status_code == 401
    locked = demo_client.post("/api/v1/auth/token", data={"username": "civil-analyst", "password": DEMO_PASSWORD})
    assert locked.status_code == 401


def test_the_operator_creates_department_accounts_but_not_platform_ones(
    demo: Platform, demo_client: TestClient
) -> None:
    headers = bearer(demo, "operator")
    created = demo_client.post(
        "/api/v1/users", headers=headers, json={"username": "psb-clerk", "org_code": "psb", "roles": ["provider"]}
    )
    assert created.status_code == 201
    assert created.json()["roles"] == ["provider"]
    assert created.json()["has_password"] is False
    refused = demo_client.post(
        "/api/v1/users", headers=headers, json={"username": "auditor-2", "org_code": "platform", "roles": ["auditor"]}
    )
    assert refused.status_code == 403
    assert "shell" in refused.json()["error"]["message"]


def test_the_operator_cannot_hand_out_platform_roles_over_the_api(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.put(
        "/api/v1/users/psb-analyst/roles", headers=bearer(demo, "operator"), json={"roles": ["auditor", "manager"]}
    )
    assert response.status_code == 403
    assert "shell" in response.json()["error"]["message"]


def test_the_operator_cannot_make_itself_manager_over_the_api(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.put(
        "/api/v1/users/operator/roles", headers=bearer(demo, "operator"), json={"roles": ["manager"]}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_accounts_are_paged_with_a_next_cursor(demo: Platform, demo_client: TestClient) -> None:
    headers = bearer(demo, "auditor")
    seen: list[str] = []
    url = "/api/v1/users?limit=7"
    while url:
        page = demo_client.get(url, headers=headers).json()
        seen += [u["username"] for u in page["items"]]
        url = f"/api/v1/users?limit=7&next={page['next']}" if page["next"] else ""
    assert len(seen) == len(set(seen)) == 21
    assert {"manager", "operator", "auditor", "bank-analyst", "healthcode-app"} <= set(seen)


def test_an_unknown_account_is_404(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/users/ghost", headers=bearer(demo, "operator"))
    assert response.status_code == 404
    assert "ghost" in response.json()["error"]["message"]


def test_a_duplicate_organisation_is_409(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.post(
        "/api/v1/organisations",
        headers=bearer(demo, "operator"),
        json={"code": "psb", "name_zh": "又一个", "name_en": "Again", "kind": "department"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["detail"]["field"] == "code"


def test_organisations_are_public(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/organisations?kind=enterprise")
    assert [o["code"] for o in response.json()["items"]] == ["bank", "healthcode"]


def test_my_tokens_can_be_created_listed_and_revoked(demo: Platform, demo_client: TestClient) -> None:
    headers = bearer(demo, "bank-analyst")
    created = demo_client.post("/api/v1/tokens", headers=headers, json={"name": "script"})
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    listed = demo_client.get("/api/v1/tokens", headers=headers).json()
    assert secret not in str(listed)
    assert demo_client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 200
    assert demo_client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_openapi_document_and_docs_are_served(demo_client: TestClient) -> None:
    spec = demo_client.get("/openapi.json").json()
    operation_ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"read_me", "list_users", "create_my_token", "sign_in", "healthz"} <= operation_ids
    assert demo_client.get("/docs").status_code == 200


def test_an_expiry_without_a_time_zone_is_a_clear_422(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.post(
        "/api/v1/tokens", headers=bearer(demo, "bank-analyst"), json={"expires_at": "2030-01-01T00:00:00"}
    )
    assert response.status_code == 422
    assert "timezone" in response.json()["error"]["message"]


def test_a_token_made_with_a_sign_in_token_expires_with_it(demo_client: TestClient) -> None:
    signed_in = demo_client.post("/api/v1/auth/token", data={"username": "tax-analyst", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    child = demo_client.post("/api/v1/tokens", headers=headers, json={"name": "script"})
    assert child.status_code == 201
    tokens = {t["name"]: t for t in demo_client.get("/api/v1/tokens", headers=headers).json()}
    assert child.json()["expires_at"] == tokens["login"]["expires_at"]


STATE_CHANGING = [
    ("post", "/api/v1/organisations", {"code": "mof", "name_zh": "财政局", "name_en": "Finance", "kind": "department"}),
    ("post", "/api/v1/users", {"username": "psb-new", "org_code": "psb", "roles": ["consumer"]}),
    ("put", "/api/v1/users/psb-analyst/roles", {"roles": ["provider"]}),
    ("post", "/api/v1/users/psb-analyst/disable", None),
    ("post", "/api/v1/users/psb-analyst/enable", None),
    ("post", "/api/v1/tokens", {"name": "x"}),
    ("delete", "/api/v1/tokens/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STATE_CHANGING, ids=[f"{m} {p}" for m, p, _ in STATE_CHANGING])
def test_the_anonymous_public_changes_nothing(
    demo_client: TestClient, method: str, path: str, body: dict[str, object] | None
) -> None:
    response = demo_client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("method", "path", "body"), STATE_CHANGING[:5], ids=[f"{m} {p}" for m, p, _ in STATE_CHANGING[:5]]
)
@pytest.mark.parametrize("who", ["civil-analyst", "manager", "auditor"])
def test_consumers_manager_and_auditor_manage_no_accounts(
    demo: Platform, demo_client: TestClient, who: str, method: str, path: str, body: dict[str, object] | None
) -> None:
    response = demo_client.request(method, path, json=body, headers=bearer(demo, who))
    assert response.status_code in {403, 404}, response.text
    assert response.json()["error"]["code"] in {"forbidden", "not_found"}


def test_sign_in_is_rate_limited_per_client_with_retry_after(demo_client: TestClient) -> None:
    statuses = [
        demo_client.post("/api/v1/auth/token", data={"username": "ghost-user", "password": "whatever-1"}).status_code
        for _ in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    refused = demo_client.post("/api/v1/auth/token", data={"username": "civil-analyst", "password": DEMO_PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]["code"] == "exhausted"
