"""The auditor's console over HTTP: flows, deliveries, denials, the chart, a verification from the page, the
proof viewer; and nobody else gets in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sluice.demo.grants import MARRIAGE_CHECK
from sluice.platform import Platform
from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_workspace import as_user


def test_the_auditor_sees_who_used_what_and_verifies_the_log(demo: Platform, demo_client: TestClient) -> None:
    analyst = as_user(demo_client, "civil-analyst")
    page = analyst.get("/datasets/psb.residents", headers=PAGE).text
    preview = {"csrf": csrf_of(page), "purpose": MARRIAGE_CHECK}
    assert analyst.post("/datasets/psb.residents/preview", data=preview, headers=PAGE).status_code == 200
    auditor = as_user(demo_client, "auditor")
    console = auditor.get("/audit", params={"start": "2026-01-01", "end": "2026-12-31"}, headers=PAGE)
    assert console.status_code == 200
    flows = console.text[console.text.index("谁使用了哪些数据") : console.text.index("最近的数据交付")]
    assert "<code>psb.residents</code>" in flows
    assert MARRIAGE_CHECK in flows
    assert 'role="img"' in flows  # the chart of rows per day
    recent = console.text[console.text.index("最近的数据交付") : console.text.index("被拒绝的访问")]
    event = re.search(r'href="/audit\?event=(\d+)#proof"', recent)
    assert event

    sign = auditor.post("/api/v1/audit/tree-head", headers={"authorization": ""})  # needs a token: refused
    assert sign.status_code in (401, 403)
    with demo.transaction() as session:
        from sluice.audit.sequencer import sign_tree_head

        sign_tree_head(session)
    proof = auditor.get("/audit", params={"event": event.group(1)}, headers=PAGE).text
    assert "其审计路径可推导出已签名的根哈希" in proof  # the path leads to the signed root

    verified = auditor.post("/audit/verify", data={"csrf": csrf_of(console.text)}, headers=PAGE)
    assert verified.status_code == 200
    assert "日志验证通过" in verified.text


def test_only_the_auditor_reads_the_console(demo_client: TestClient) -> None:
    assert demo_client.get("/audit", headers=PAGE, follow_redirects=False).status_code == 303
    for username in ("operator", "manager", "civil-analyst"):
        page = as_user(demo_client, username).get("/audit", headers=PAGE)
        assert page.status_code == 403, username
        assert "无权访问" in page.text


def test_a_period_beyond_the_calendar_falls_back_to_the_last_month(demo_client: TestClient) -> None:
    auditor = as_user(demo_client, "auditor")
    for start, end in (("0001-01-01", "9999-12-31"), ("nonsense", "2026-13-45")):
        page = auditor.get("/audit", params={"start": start, "end": end}, headers=PAGE)
        assert page.status_code == 200
