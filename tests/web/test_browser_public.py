"""The public portal in Chromium: a member of the public finds population data, opens it, previews and downloads
it; the language switch; signing in and out; a forged form; nothing fetched from another host."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import pytest

from tests.web.conftest import NewPage, expect, offsite_requests

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

POPULATION = "psb.population_stats"


def test_the_public_finds_population_data_previews_and_downloads_it(page: Page) -> None:
    offsite = offsite_requests(page)
    page.goto("/")
    page.get_by_label("搜索数据集").fill("人口")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/datasets?q=*")
    assert page.locator(".count-line").inner_text().startswith(tuple("0123456789"))
    page.get_by_role("link", name="户籍人口统计（按区县、性别、年龄段）").click()
    page.wait_for_url(f"**/datasets/{POPULATION}")
    expect(page.get_by_role("heading", level=1)).to_have_text("户籍人口统计（按区县、性别、年龄段）")

    preview = page.locator("#preview table")
    headers = preview.locator("thead th").all_inner_texts()
    assert headers == ["division_code", "gender", "age_group", "residents", "as_of"]
    assert preview.locator("tbody tr").count() == 10
    assert page.locator("#profile svg[role=img]").count() >= 2  # charts drawn on the server

    with page.expect_download() as waiting:
        page.get_by_role("button", name="CSV", exact=True).click()
    download = waiting.value
    path = download.path()
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"))))
    assert rows[0] == headers
    assert len(rows) > 10
    assert all(row[1] in {"男", "女"} for row in rows[1:])
    page.wait_for_load_state("networkidle")
    assert offsite == []


def test_the_language_switch_changes_every_word_and_sticks(page: Page) -> None:
    page.goto(f"/datasets/{POPULATION}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.get_by_role("heading", name="信息项")).to_be_visible()
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("Registered population by district, sex and age group")
    expect(page.get_by_role("heading", name="Fields")).to_be_visible()
    page.get_by_role("link", name="Datasets", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Datasets")  # the cookie keeps English
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("数据目录")


def test_an_analyst_signs_in_sees_shared_data_and_signs_out(page: Page) -> None:
    page.goto("/datasets/psb.residents")
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")  # not for the public
    page.get_by_role("link", name="登录").first.click()
    page.get_by_label("用户名").fill("civil-analyst")
    page.get_by_label("密码").fill("sluice-demo")
    page.get_by_role("button", name="登录").click()
    page.goto("/datasets/psb.residents")
    expect(page.get_by_role("heading", level=1)).to_have_text("人口基础信息")
    expect(page.locator("header")).to_contain_text("civil-analyst")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sluice_session"]["httpOnly"]
    assert cookies["sluice_session"]["sameSite"] == "Lax"
    page.get_by_role("button", name="退出").click()
    page.goto("/datasets/psb.residents")
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")


def test_a_wrong_password_says_so_and_keeps_the_username(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("civil-analyst")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    assert page.get_by_label("用户名").input_value() == "civil-analyst"


def test_a_form_posted_from_another_site_is_refused(new_page: NewPage, live_server: str) -> None:
    """A page on another origin posts to our sign-in form: no CSRF token, a foreign Origin — refused."""
    victim = new_page()
    victim.goto("/login")
    victim.set_content(
        f"""<form id="forged" method="post" action="{live_server}/login">
        <input name="username" value="civil-analyst"><input name="password" value="sluice-demo">
        </form>"""
    )
    with victim.expect_navigation():
        victim.evaluate("document.getElementById('forged').submit()")
    expect(victim.get_by_role("heading", level=1)).to_have_text("无权访问")
    assert "sluice_session" not in {c["name"] for c in victim.context.cookies()}


def test_the_layout_works_on_a_phone(new_page: NewPage) -> None:
    phone = new_page()
    phone.set_viewport_size({"width": 375, "height": 740})
    phone.goto("/datasets?q=人口")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling of the page itself (tables scroll inside their box)
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent") == "跳到正文"  # keyboard users skip the header
