"""The consoles in Chromium: the auditor verifies the log from the page and opens a delivery's proof; the manager
publishes a submitted resource from the review queue; the operator's page shows the separation of roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sluice.audit.sequencer import sign_tree_head
from sluice.catalog import service as catalog
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform
from tests.catalog.conftest import draft
from tests.web.conftest import expect
from tests.web.test_browser_workspace import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_auditor_verifies_the_log_and_reads_a_proof(page: Page, demo: Platform) -> None:
    with demo.transaction() as session:
        sign_tree_head(session)  # the server's timer does this every minute; it does not run in tests
    sign_in(page, "auditor")
    page.get_by_role("link", name="审计").click()
    page.get_by_role("button", name="立即验证全部日志").click()
    expect(page.get_by_role("status")).to_contain_text("日志验证通过")
    page.get_by_role("link", name="审计").first.click()
    page.get_by_label("从").fill("2026-01-01")
    page.get_by_label("至", exact=True).fill("2026-12-31")
    page.get_by_role("button", name="查看", exact=True).click()
    first_delivery = page.locator("a[href^='/audit?event=']").first
    first_delivery.click()
    expect(page.locator("#proof [role=status]")).to_contain_text("其审计路径可推导出已签名的根哈希")


def test_the_manager_publishes_from_the_review_queue(page: Page, demo: Platform) -> None:
    with demo.transaction() as session:
        provider = actor_for_user(find_user(session, "psb-admin"), via="test")
        catalog.register_resource(session, provider, data=draft("psb.vehicles"))
        catalog.submit_resource(session, provider, code="psb.vehicles")
    sign_in(page, "manager")
    page.get_by_role("link", name="管理").click()
    page.get_by_role("link", name="机动车登记信息").click()
    page.get_by_role("button", name="退回提供部门").click()
    expect(page.get_by_role("alert")).to_be_visible()  # a return needs a comment
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_text("没有待审核的资源。")).to_be_visible()


def test_the_operator_sees_accounts_and_roles_but_no_data(page: Page) -> None:
    sign_in(page, "operator")
    page.get_by_role("link", name="运维").click()
    expect(page.locator("#account-auditor").get_by_text("仅限命令行")).to_be_visible()
    page.goto("/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")
