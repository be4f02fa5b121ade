"""Personal API tokens in the portal: made (the secret shown once, never cached), usable against the API, listed
without their secrets, revoked."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_workspace import as_user


def test_make_use_list_and_revoke_a_token(demo_client: TestClient) -> None:
    analyst = as_user(demo_client, "civil-analyst")
    page = analyst.get("/account/tokens", headers=PAGE)
    assert "门户会话" in page.text  # the session itself is a token
    form = {"csrf": csrf_of(page.text), "name": "etl", "days": "7"}
    wrong = analyst.post("/account/tokens", data={**form, "password": "guess"}, headers=PAGE)
    assert wrong.status_code == 401  # making a token that outlives the session asks for the password again
    assert 'id="new-token"' not in wrong.text
    made = analyst.post("/account/tokens", data={**form, "password": "sluice-demo"}, headers=PAGE)
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert secret
    me = demo_client.get("/api/v1/me", headers={"authorization": f"Bearer {secret.group(1)}"})
    assert me.json()["username"] == "civil-analyst"
    listed = analyst.get("/account/tokens", headers=PAGE).text
    assert secret.group(1) not in listed  # shown once
    revoke = re.search(r'action="(/account/tokens/\d+/revoke)"', listed)
    assert revoke  # the newest first: the one just made
    assert analyst.post(revoke.group(1), data={"csrf": csrf_of(listed)}, headers=PAGE).status_code == 200
    assert demo_client.get("/api/v1/me", headers={"authorization": f"Bearer {secret.group(1)}"}).status_code == 401


def test_someone_elses_token_cannot_be_revoked(demo_client: TestClient) -> None:
    analyst = as_user(demo_client, "civil-analyst")
    other = as_user(demo_client, "tax-analyst")
    theirs = re.search(r'action="(/account/tokens/\d+/revoke)"', other.get("/account/tokens", headers=PAGE).text)
    assert theirs
    page = analyst.get("/account/tokens", headers=PAGE).text
    answer = analyst.post(theirs.group(1), data={"csrf": csrf_of(page)}, headers=PAGE)
    assert answer.status_code == 404  # refused as the API refuses it: no such token of yours
    assert "tax-analyst" in other.get("/account/tokens", headers=PAGE).text
    assert other.get("/workspace/grants", headers=PAGE).status_code == 200  # their session still works
