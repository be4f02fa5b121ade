"""One error shape for every 4xx/5xx, and never a stack trace."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text

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


def _refused_by_a_concurrent_writer(platform: Platform) -> Exception:
    """A real refusal of one transaction by another: a deadlock between two on PostgreSQL (two rows locked in
    opposite orders); on SQLite, a writer that finds the database locked by another and may not wait."""
    with platform.engine.begin() as setup:
        setup.execute(text("CREATE TABLE collide (id INTEGER PRIMARY KEY, n INTEGER)"))
        setup.execute(text("INSERT INTO collide VALUES (1, 0), (2, 0)"))
    touch = "UPDATE collide SET n = n + 1 WHERE id = {}"
    if platform.engine.dialect.name == "sqlite":
        holder = platform.engine.connect()
        holder.execute(text(touch.format(1)))  # BEGIN IMMEDIATE: the write lock, held
        impatient = create_engine(platform.settings.metadata_url, connect_args={"timeout": 0})
        try:
            with impatient.begin() as connection:
                connection.execute(text(touch.format(2)))
        except Exception as exc:
            return exc
        finally:
            holder.rollback()
            holder.close()
            impatient.dispose()
        raise AssertionError("the second writer was not refused")
    first, second = platform.engine.connect(), platform.engine.connect()
    refused: list[Exception] = []

    def cross(connection: Connection, row: int) -> None:
        try:
            connection.execute(text(touch.format(row)))
        except Exception as exc:
            refused.append(exc)
            connection.rollback()  # the refused one lets the other finish

    try:
        first.execute(text(touch.format(1)))
        second.execute(text(touch.format(2)))
        threads = [threading.Thread(target=cross, args=(first, 2)), threading.Thread(target=cross, args=(second, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for connection in (first, second):
            connection.rollback()
            connection.close()
    assert refused, "no deadlock was detected"
    return refused[0]


def test_a_transaction_refused_by_a_concurrent_one_is_409_with_retry_after(platform: Platform) -> None:
    refusal = _refused_by_a_concurrent_writer(platform)
    app = create_app(platform)

    @app.get("/collide")
    def collide() -> None:
        raise refusal

    @app.get("/bad-sql")
    def bad_sql() -> None:
        with platform.transaction() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/collide")
        assert response.status_code == 409
        assert response.headers["Retry-After"] == "1"
        assert response.json()["error"]["code"] == "conflict"
        assert "send the request again" in response.json()["error"]["message"]
        other = client.get("/bad-sql")  # any other database error is an incident, as before
        assert other.status_code == 500
        assert other.json()["error"]["code"] == "internal"
        assert "no_such_table" not in other.text
