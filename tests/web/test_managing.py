"""The manager's console over HTTP: the review queue with what a revision changes, publishing and returning
(a return needs a comment), and catalog health; nobody else gets in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sluice.catalog import service as catalog
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform
from tests.catalog.conftest import draft
from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_workspace import as_user


def submit(demo: Platform, code: str) -> None:
    with demo.transaction() as session:
        provider = actor_for_user(find_user(session, "psb-admin"), via="test")
        catalog.register_resource(session, provider, data=draft(code))
        catalog.submit_resource(session, provider, code=code)


def test_the_manager_reviews_a_submitted_resource(demo: Platform, demo_client: TestClient) -> None:
    submit(demo, "psb.vehicles")
    manager = as_user(demo_client, "manager")
    queue = manager.get("/manage/reviews", headers=PAGE).text
    assert "/manage/reviews/psb.vehicles" in queue
    page = manager.get("/manage/reviews/psb.vehicles", headers=PAGE).text
    assert "机动车登记信息" in page  # what changes: a new resource, everything
    assert "owner_id" in page
    without_comment = manager.post(
        "/manage/reviews/psb.vehicles", data={"csrf": csrf_of(page), "decision": "return", "comment": ""}, headers=PAGE
    )
    assert without_comment.status_code == 422
    assert 'role="alert"' in without_comment.text
    published = manager.post(
        "/manage/reviews/psb.vehicles", data={"csrf": csrf_of(page), "decision": "publish"}, headers=PAGE
    )
    assert published.status_code == 200
    assert "/manage/reviews/psb.vehicles" not in published.text  # left the queue
    analyst = as_user(demo_client, "civil-analyst")
    assert analyst.get("/datasets/psb.vehicles", headers=PAGE).status_code == 200


def test_catalog_health_by_department(demo_client: TestClient) -> None:
    manager = as_user(demo_client, "manager")
    page = manager.get("/manage/health", headers=PAGE)
    assert page.status_code == 200
    for org in ("psb", "civil", "tax"):
        assert f"<td>{org}</td>" in page.text
    assert 'class="late"' in page.text  # the demo has an overdue application


def test_only_the_manager_reviews_and_the_auditor_may_read_health(demo_client: TestClient) -> None:
    for username in ("operator", "auditor", "psb-admin"):
        client = as_user(demo_client, username)
        assert client.get("/manage/reviews", headers=PAGE).status_code == 403, username
        expected = 200 if username == "auditor" else 403  # the auditor reads everything, changes nothing
        assert client.get("/manage/health", headers=PAGE).status_code == expected, username
