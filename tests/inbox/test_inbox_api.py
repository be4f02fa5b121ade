"""The inbox over REST: webhooks under /api/v1/webhooks, and the notice routes at their old paths."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.inbox.webhooks import deliver_due, verify_signature
from sluice.platform import Platform
from tests.conftest import START, bearer
from tests.inbox.conftest import Receiver, World


def test_an_admin_registers_lists_tests_and_disables_a_webhook(
    world: World, client: TestClient, receiver: Receiver
) -> None:
    admin = bearer(world.platform, "psb-admin")

    created = client.post("/api/v1/webhooks", headers=admin, json={"url": receiver.url, "kinds": ["version.held"]})
    assert created.status_code == 201, created.text
    hook = created.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_")

    listed = client.get("/api/v1/webhooks", headers=admin)
    assert listed.status_code == 200
    assert [w["id"] for w in listed.json()] == [hook["id"]]
    assert "secret" not in listed.json()[0]
    assert secret not in listed.text

    tested = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=admin)
    assert tested.status_code == 202, tested.text
    assert tested.json()["status"] == "pending"
    assert deliver_due(world.platform) == 1
    [got] = receiver.received
    assert verify_signature(secret, got.headers["X-Sluice-Signature"], got.body, START)

    log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin, params={"limit": 10})
    assert log.status_code == 200
    [delivery] = log.json()["items"]
    assert (delivery["kind"], delivery["status"], delivery["last_status_code"]) == ("webhook.test", "delivered", 200)
    assert log.json()["next"] is None

    disabled = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin)
    assert disabled.status_code == 200
    assert disabled.json()["disabled_at"] is not None
    assert "secret" not in disabled.json()


def test_another_organisation_gets_not_found_or_forbidden(world: World, client: TestClient) -> None:
    hook = world.register("https://psb.example.gov.cn/hook")
    other = bearer(world.platform, "tax-admin")

    for method, path in (
        ("DELETE", f"/api/v1/webhooks/{hook.id}"),
        ("GET", f"/api/v1/webhooks/{hook.id}/deliveries"),
        ("POST", f"/api/v1/webhooks/{hook.id}/test"),
    ):
        response = client.request(method, path, headers=other)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    refused = client.get("/api/v1/webhooks", headers=other, params={"organisation": "psb"})
    assert refused.status_code == 403
    assert client.get("/api/v1/webhooks", headers=other).json() == []


def test_the_operator_sees_every_webhook_but_no_secret(world: World, client: TestClient) -> None:
    hook = world.register("https://psb.example.gov.cn/hook")
    listed = client.get("/api/v1/webhooks", headers=bearer(world.platform, "operator"))
    assert listed.status_code == 200
    assert [(w["id"], w["organisation"]) for w in listed.json()] == [(hook.id, "psb")]
    assert hook.secret not in listed.text


def test_a_bad_url_is_422_in_the_error_shape(world: World, client: TestClient) -> None:
    response = client.post(
        "/api/v1/webhooks",
        headers=bearer(world.platform, "psb-admin"),
        json={"url": "https://user:pw@psb.example.gov.cn/hook"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["detail"]["field"]) == ("invalid", "url")


def test_webhooks_need_a_signed_in_caller(world: World, client: TestClient) -> None:
    assert client.get("/api/v1/webhooks").status_code == 401
    assert client.post("/api/v1/webhooks", json={"url": "https://a.example/"}).status_code == 401


def test_the_inbox_routes_still_work_at_their_old_paths(world: World, client: TestClient) -> None:
    notice_id = world.notify()
    clerk = bearer(world.platform, "psb-clerk")

    unread = client.get("/api/v1/inbox", headers=clerk, params={"unread": True})
    assert unread.status_code == 200
    assert [n["id"] for n in unread.json()] == [notice_id]
    read = client.post(f"/api/v1/inbox/{notice_id}/read", headers=clerk)
    assert read.status_code == 200
    assert read.json()["read_by"] == "psb-clerk"
    assert client.get("/api/v1/inbox", headers=clerk, params={"unread": True}).json() == []
    assert client.post("/api/v1/inbox/9999/read", headers=clerk).status_code == 404


def test_the_operation_ids_of_the_inbox_did_not_change(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/inbox"]["get"]["operationId"] == "list_notices"
    assert paths["/api/v1/inbox/{notice_id}/read"]["post"]["operationId"] == "mark_read"
    assert paths["/api/v1/webhooks"]["post"]["operationId"] == "register_webhook"


def test_the_app_delivers_in_the_background_when_the_interval_is_set(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url)
    settings = world.platform.settings.model_copy(update={"webhook_interval_seconds": 0.05})
    platform = Platform.open(settings, clock=world.platform.clock)
    try:
        with TestClient(create_app(platform)):
            world.notify()
            receiver.wait_for(1)
    finally:
        platform.close()
    assert [d.status for d in world.deliveries(hook.id)] == ["delivered"]


def test_a_handed_in_platform_gets_no_dispatcher_unless_asked(world: World, receiver: Receiver) -> None:
    world.register(receiver.url)
    with TestClient(create_app(world.platform)):
        world.notify()
    assert receiver.received == []
    assert [d.status for d in world.deliveries()] == ["pending"]
