"""The provider's work and the public's feedback in Chromium: a clerk registers a resource through the form,
uploads its first version (the script shows the upload's progress, then lands on the version's report), and
submits it for review; a member of the public sends feedback written as markup, which the department reads as
text — no script of it ever runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import NewPage, expect, offsite_requests
from tests.web.test_browser_workspace import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page

pytestmark = pytest.mark.browser

ROWS = "registration_no,adopter_id,registered_on\nA1,11010519491231002X,2024-01-02\nA2,110105194912310021,2024-01-03\n"
ATTACK = '<img src=x onerror="document.title=\'owned\'"><script>alert("x")</script>'


def fill_field_row(page: Page, row: int, name: str, zh: str, en: str, **choices: str) -> None:
    page.locator("input[name=field_name]").nth(row).fill(name)
    page.locator("input[name=field_title_zh]").nth(row).fill(zh)
    page.locator("input[name=field_title_en]").nth(row).fill(en)
    for column, value in choices.items():
        page.locator(f"select[name=field_{column}]").nth(row).select_option(value)


def test_a_clerk_registers_uploads_and_submits(new_page: NewPage) -> None:
    page = new_page()
    offsite = offsite_requests(page.context)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "civil-admin")
    page.goto("/workspace/resources")
    page.get_by_role("link", name="登记资源").click()
    page.locator("#code").fill("civil.adoptions")
    page.get_by_label("中文名称", exact=True).fill("收养登记")
    page.get_by_label("英文名称", exact=True).fill("Adoption registrations")
    fill_field_row(page, 0, "registration_no", "登记编号", "Registration number")
    page.locator("input[name=field_key]").nth(0).check()
    page.locator("input[name=field_nullable]").nth(0).uncheck()
    page.get_by_role("button", name="增加行").click()  # more rows, nothing saved yet
    fill_field_row(page, 1, "adopter_id", "收养人身份号码", "Adopter's identity number", element="resident_id")
    page.locator("select[name=field_sensitivity]").nth(1).select_option("sensitive")
    fill_field_row(page, 2, "registered_on", "登记日期", "Registered on", type="date")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_url("**/workspace/resources/civil.adoptions?registered=1")
    expect(page.locator(".facts")).to_contain_text("草稿")

    page.set_input_files("#file", {"name": "adoptions.csv", "mimeType": "text/csv", "buffer": ROWS.encode()})
    page.get_by_label("记录不符合规则时").select_option("quarantine")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/versions")) as sent:
        page.get_by_role("button", name="上传并校验").click()
    assert sent.value.resource_type == "xhr"  # sent by the script that shows the progress
    page.wait_for_url("**/workspace/resources/civil.adoptions/versions/1")
    report = page.locator("main").inner_text()
    assert "读取 2 条记录，接收 1 条，隔离 1 条" in report
    assert "110105194912310021" not in report  # a personal value in the report is masked

    page.goto("/workspace/resources/civil.adoptions")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".facts")).to_contain_text("待审核")
    assert errors == []
    assert offsite == []


def test_a_failed_upload_says_why_on_the_same_page(new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, "psb-admin")
    page.goto("/workspace/resources/psb.population_stats")
    page.set_input_files("#file", {"name": "wrong.csv", "mimeType": "text/csv", "buffer": b"who,what\n1,2\n"})
    page.get_by_role("button", name="上传并校验").click()
    problem = page.get_by_role("alert")
    problem.wait_for()
    assert page.url.endswith("/workspace/resources/psb.population_stats")  # the same page, now saying why
    expect(problem).to_contain_text("division_code")  # names the fields the file lacks


def test_feedback_written_as_markup_stays_text(new_page: NewPage) -> None:
    public, provider = new_page(), new_page()
    dialogs: list[Dialog] = []
    for page in (public, provider):
        page.on("dialog", lambda dialog: dialogs.append(dialog))  # noqa: PLW0108 (Playwright cannot wrap a builtin method)
    public.goto("/datasets/psb.population_stats")
    public.get_by_label("内容").fill(ATTACK)
    public.get_by_label("您的联系方式（可选）").fill("13800000000")
    public.get_by_role("button", name="发送").click()
    expect(public.get_by_role("status")).to_contain_text("参考编号")

    sign_in(provider, "psb-admin")
    provider.goto("/workspace/feedback")
    expect(provider.locator(".results")).to_contain_text(ATTACK)  # shown as the text it is
    assert provider.title() != "owned"
    provider.get_by_label("答复").first.fill("已核对")
    provider.get_by_role("button", name="发送答复").first.click()
    expect(provider.locator(".notice").first).to_contain_text("已核对")
    assert dialogs == []


@pytest.mark.parametrize(
    "path",
    [
        "/workspace/resources",
        "/workspace/resources/new",
        "/workspace/resources/psb.residents",
        "/workspace/resources/psb.residents/versions/1",
        "/workspace/feedback",
        "/workspace/inbox",
    ],
)
def test_the_provider_pages_fit_a_phone(new_page: NewPage, path: str) -> None:
    phone = new_page()
    sign_in(phone, "psb-admin")
    phone.set_viewport_size({"width": 375, "height": 740})
    phone.goto(path)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375, path  # tables scroll inside their box


def test_the_registration_form_is_labelled_for_every_input(new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, "civil-admin")
    page.goto("/workspace/resources/new")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
              .map(e => e.name)"""
    )
    assert unlabelled == []
    page.locator("#code").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "title_zh"  # keyboard order follows the form
