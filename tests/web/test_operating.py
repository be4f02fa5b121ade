"""The operator's console over HTTP: organisations and accounts with their roles, disabling and enabling a
department's account (which ends its sessions), platform accounts left to the shell; nobody else gets in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_workspace import as_user


def test_the_operator_disables_and_enables_a_department_account(demo_client: TestClient) -> None:
    analyst = as_user(demo_client, "nra-analyst")
    operator = as_user(demo_client, "operator")
    page = operator.get("/operate", headers=PAGE)
    assert page.status_code == 200
    assert 'id="account-nra-analyst"' in page.text
    assert "仅限命令行" in page.text  # platform accounts: the shell only
    disabled = operator.post("/operate/accounts/nra-analyst/disable", data={"csrf": csrf_of(page.text)}, headers=PAGE)
    assert disabled.status_code == 200
    assert analyst.get("/workspace/grants", headers=PAGE, follow_redirects=False).status_code == 303  # signed out
    enabled = operator.post("/operate/accounts/nra-analyst/enable", data={"csrf": csrf_of(page.text)}, headers=PAGE)
    assert enabled.status_code == 200


def test_a_platform_account_is_refused_with_the_reason(demo_client: TestClient) -> None:
    operator = as_user(demo_client, "operator")
    page = operator.get("/operate", headers=PAGE).text
    refused = operator.post("/operate/accounts/auditor/disable", data={"csrf": csrf_of(page)}, headers=PAGE)
    assert refused.status_code == 403  # the API's status, on the page with the reason
    assert 'role="alert"' in refused.text


def test_only_the_operator_opens_the_console(demo_client: TestClient) -> None:
    for username in ("manager", "auditor", "psb-admin"):
        assert as_user(demo_client, username).get("/operate", headers=PAGE).status_code == 403, username
