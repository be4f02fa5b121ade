"""One error shape for every 4xx/5xx, and never a stack trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.platform import Platform


@pytest.fixture
def broken_client(platform: Platform) -> Iterator[TestClient]:
    app = create_app(platform)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2 at /srv/sluice/x.py line 12")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_unexpected_error_is_500_with_an_incident_id_and_no_internals(broken_client: TestClient) -> None:
    response = broken_client.get("/boom")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert error["detail"]["incident"] in error["message"]
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text


def test_an_unknown_path_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_405_in_the_error_shape(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_422_naming_the_problem(client: TestClient) -> None:
    response = client.post("/api/v1/organisations", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert body["detail"]["problems"]


def test_a_bad_field_is_named(client: TestClient) -> None:
    response = client.get("/api/v1/organisations?kind=ministry")
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("query.kind")


def test_a_malformed_username_is_explained(client: TestClient) -> None:
    response = client.post("/api/v1/users", json={"username": "Bad Name!", "org_code": "psb"})
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "'Bad Name!' is not a valid username" in message
    assert "lower-case letters" in message
