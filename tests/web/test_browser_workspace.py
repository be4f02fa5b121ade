"""The sharing workflow in Chromium, three people in three browsers: a consumer applies for data from its page,
the provider approves (narrowing the fields), the manager countersigns, the consumer accepts the narrowed grant
and previews the data under it; and a refusal's reason typed as markup stays text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import NewPage, expect, offsite_requests

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page

pytestmark = pytest.mark.browser

PURPOSE = "个税专项附加扣除核验"


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("sluice-demo")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def file_application(consumer: Page, purpose: str = PURPOSE) -> str:
    consumer.goto("/datasets/civil.marriages")
    consumer.get_by_role("link", name="申请使用").click()
    for name in ("husband_id", "wife_id", "division_code"):
        consumer.locator(f"input[name=fields][value={name}]").uncheck()
    consumer.get_by_label("用途", exact=True).fill(purpose)
    consumer.get_by_label("法律依据").fill("《中华人民共和国个人所得税法》")
    consumer.get_by_label("使用截止日").fill("2027-06-30")
    consumer.get_by_role("button", name="提交申请").click()
    consumer.wait_for_url("**/workspace/applications/*")
    return consumer.url


def test_apply_approve_countersign_accept_and_preview(new_page: NewPage) -> None:
    consumer, provider, manager = new_page(), new_page(), new_page()
    offsite = offsite_requests(consumer.context)
    sign_in(consumer, "tax-analyst")
    application = file_application(consumer)
    expect(consumer.locator(".meta")).to_contain_text("等待答复")

    sign_in(provider, "civil-admin")
    provider.goto("/workspace")
    provider.get_by_role("link", name="婚姻登记信息").first.click()
    assert provider.url == application
    provider.locator("input[name=fields][value=registered_on]").uncheck()  # narrow: two of the three fields
    provider.get_by_role("button", name="同意", exact=True).click()
    expect(provider.locator(".meta")).to_contain_text("等待会签")

    sign_in(manager, "manager")
    manager.goto("/workspace")  # a manager lands on the countersignature queue
    manager.get_by_role("link", name="婚姻登记信息").first.click()
    manager.get_by_role("button", name="会签", exact=True).click()
    expect(manager.locator(".meta")).to_contain_text("已批准")

    consumer.goto("/workspace/grants")
    row = consumer.locator("tr", has_text=PURPOSE)
    expect(row).to_contain_text("待确认")  # narrowed: offered until the consumer accepts
    row.get_by_role("button", name="接受", exact=True).click()
    expect(consumer.locator("tr", has_text=PURPOSE)).to_contain_text("有效")
    consumer.locator("tr", has_text=PURPOSE).get_by_role("link", name="civil.marriages").click()
    headers = consumer.locator("#preview thead th").all_inner_texts()
    assert headers == ["registration_no", "kind"]
    assert consumer.locator("#preview tbody tr").count() == 10
    consumer.wait_for_load_state("networkidle")
    assert offsite == []


def test_a_refusal_reason_written_as_markup_stays_text(new_page: NewPage) -> None:
    consumer, provider = new_page(), new_page()
    sign_in(consumer, "tax-analyst")
    application = file_application(consumer, purpose="核验<img src=x onerror=alert(1)>")
    sign_in(provider, "civil-admin")
    provider.goto(application)
    hostile = "<script>document.title='pwned'</script>不予同意"
    provider.get_by_label("理由（必填，申请方可见）").last.fill(hostile)
    dialogs: list[str] = []

    def noted(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    consumer.on("dialog", noted)
    provider.get_by_role("button", name="不予同意").click()
    consumer.goto(application)
    expect(consumer.locator(".facts")).to_contain_text(hostile)  # shown as the text it is
    assert consumer.title() != "pwned"
    assert consumer.locator(".facts img").count() == 0
    assert dialogs == []
