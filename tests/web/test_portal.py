"""The portal over HTTP (no browser): pages in both languages, signing in and out, CSRF, escaping, redirects,
error pages for browsers and JSON for API clients. The browser suite (test_browser_*.py) drives the same pages
in Chromium."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.catalog import service as catalog
from sluice.catalog.models import Resource
from sluice.catalog.schemas import Contact, FieldSpec, ReviewDecision
from sluice.catalog.vocab import OpenType, SharingType
from sluice.identity.authn import actor_for_user
from sluice.identity.models import ApiToken
from sluice.identity.queries import find_user
from sluice.lake.models import Version
from sluice.platform import Platform
from sluice.web.security import CSRF_COOKIE, SESSION_COOKIE
from tests.catalog.conftest import draft

PAGE = {"accept": "text/html"}
PASSWORD = "sluice-demo"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/login", headers=PAGE)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(page.text), "next": "/datasets"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/datasets"


def open_dataset_code(demo: Platform) -> str:
    """A resource with published open data (the public can preview it)."""
    with demo.reading() as session:
        opened = select(Resource.code).where(Resource.open_type == "open", Resource.visible.is_(True))
        with_data = select(Version.resource_id).where(Version.status == "published")
        code = session.scalars(opened.where(Resource.id.in_(with_data)).order_by(Resource.id)).first()
    assert code is not None, "the demo has no open resource with data"
    return code


def test_home_and_search_in_chinese_by_default_and_in_english_on_request(demo_client: TestClient) -> None:
    home = demo_client.get("/", headers=PAGE)
    assert home.status_code == 200
    assert '<html lang="zh-CN">' in home.text
    assert "查找政务数据" in home.text
    english = demo_client.get("/?lang=en", headers=PAGE)
    assert '<html lang="en">' in english.text
    assert "Find government data" in english.text
    assert demo_client.cookies.get("sluice_lang") == "en"  # the choice sticks
    assert "Find government data" in demo_client.get("/", headers=PAGE).text
    browser_says = TestClient(demo_client.app).get("/", headers={**PAGE, "accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in browser_says.text


def test_search_finds_population_data_with_facets_and_pages(demo_client: TestClient) -> None:
    found = demo_client.get("/datasets", params={"q": "人口"}, headers=PAGE)
    assert found.status_code == 200
    titles = re.findall(r'<h3><a href="/datasets/[^"]+">([^<]+)</a>', found.text)
    assert titles
    assert all("人口" in t or "出生" in t or "户籍" in t for t in titles), titles
    assert "提供部门" in found.text  # the department facet
    narrowed = demo_client.get("/datasets", params={"q": "人口", "organisation": "psb"}, headers=PAGE)
    codes = re.findall(r'<h3><a href="/datasets/([^"]+)">', narrowed.text)
    assert codes
    assert all(code.startswith("psb.") for code in codes)
    assert 'class="chosen"' in narrowed.text
    everything = demo_client.get("/datasets", headers=PAGE)
    assert 'rel="next"' in everything.text
    second = demo_client.get("/datasets", params={"page": "2"}, headers=PAGE)
    assert re.findall(r'<h3><a href="/datasets/([^"]+)">', second.text) != codes


def test_a_dataset_page_previews_open_data_through_the_gateway(demo: Platform, demo_client: TestClient) -> None:
    code = open_dataset_code(demo)
    page = demo_client.get(f"/datasets/{code}", headers=PAGE)
    assert page.status_code == 200
    preview = page.text[page.text.index('id="preview"') : page.text.index('id="downloads"')]
    assert preview.count("<tr>") >= 2  # a header row and data
    formats = re.findall(r'name="format" value="(\w+)"', page.text)
    assert formats == ["csv", "parquet", "json"]
    token = csrf_of(page.text)
    form = {"csrf": token, "purpose": "open data"}
    csv_file = demo_client.post(f"/datasets/{code}/download", data={**form, "format": "csv"}, headers=PAGE)
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert "x-sluice-receipt" in csv_file.headers
    json_file = demo_client.post(f"/datasets/{code}/download", data={**form, "format": "json"}, headers=PAGE)
    rows = json_file.json()
    assert rows
    assert isinstance(rows[0], dict)
    assert len(rows) == len(csv_file.text.strip().splitlines()) - 1
    forged = demo_client.post(f"/datasets/{code}/download", data={"format": "csv"}, headers=PAGE)
    assert forged.status_code == 403  # a form without our token (e.g. from another site) downloads nothing
    assert demo_client.get(f"/datasets/{code}/download?format=csv&csrf={token}").status_code == 405  # no GET
    assert f"/dataset/{code}.ttl" in page.text
    profile = page.text[page.text.index('id="profile"') : page.text.index('id="downloads"')]
    assert profile.count('role="img"') >= 2  # empty values per field, and at least one field's values
    with demo.reading() as session:
        from sluice.audit.models import AuditEvent

        logged = session.scalars(select(AuditEvent.target).where(AuditEvent.action == "gateway.query")).all()
    assert f"resource:{code}" in logged  # the preview went through the gateway and its log


def test_a_resource_the_public_may_not_see_is_a_404_page(demo_client: TestClient) -> None:
    page = demo_client.get("/datasets/psb.residents", headers=PAGE)
    assert page.status_code == 404
    assert "<h1>未找到</h1>" in page.text
    api = demo_client.get("/api/v1/resources/psb.residents")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"  # API clients still get the JSON shape


def test_sign_in_shows_shared_data_and_sign_out_ends_the_session(demo: Platform, demo_client: TestClient) -> None:
    sign_in(demo_client, "civil-analyst")
    cookie = demo_client.cookies.get(SESSION_COOKIE)
    assert cookie
    page = demo_client.get("/datasets/psb.residents", headers=PAGE)
    assert page.status_code == 200
    assert "civil-analyst" in page.text
    logout = demo_client.post("/logout", data={"csrf": csrf_of(page.text)}, headers=PAGE, follow_redirects=False)
    assert logout.status_code == 303
    with demo.reading() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.name == "portal")).one()
    assert token.revoked_at is not None
    stolen = TestClient(demo_client.app, cookies={SESSION_COOKIE: cookie})
    assert stolen.get("/datasets/psb.residents", headers=PAGE).status_code == 404  # the old cookie is worthless


def test_a_wrong_password_is_refused_with_a_message(demo_client: TestClient) -> None:
    page = demo_client.get("/login", headers=PAGE)
    answer = demo_client.post(
        "/login", data={"username": "civil-analyst", "password": "nope", "csrf": csrf_of(page.text)}, headers=PAGE
    )
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text
    assert SESSION_COOKIE not in answer.cookies


@pytest.mark.parametrize(
    "forged",
    [
        {"csrf": ""},
        {"csrf": "0" * 64},
        {"csrf": "from-before", "origin": "https://evil.example"},
    ],
)
def test_a_form_without_our_csrf_token_or_from_another_site_is_refused(
    demo_client: TestClient, forged: dict[str, str]
) -> None:
    genuine = csrf_of(demo_client.get("/login", headers=PAGE).text)
    token = genuine if forged["csrf"] == "from-before" else forged["csrf"]
    headers = {**PAGE, **({"origin": forged["origin"]} if "origin" in forged else {})}
    answer = demo_client.post(
        "/login", data={"username": "civil-analyst", "password": PASSWORD, "csrf": token}, headers=headers
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.cookies


def test_a_csrf_token_is_bound_to_the_browser_and_the_session(demo_client: TestClient) -> None:
    other = TestClient(demo_client.app)
    theirs = csrf_of(other.get("/login", headers=PAGE).text)
    answer = demo_client.post(
        "/login", data={"username": "civil-analyst", "password": PASSWORD, "csrf": theirs}, headers=PAGE
    )
    assert answer.status_code == 403  # another browser's token does not fit this browser's cookie
    before = csrf_of(demo_client.get("/login", headers=PAGE).text)
    sign_in(demo_client, "civil-analyst")
    logout = demo_client.post("/logout", data={"csrf": before}, headers=PAGE)
    assert logout.status_code == 403  # a token from before signing in no longer works


def test_only_local_redirects_after_sign_in(demo_client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = demo_client.get("/login", params={"next": target}, headers=PAGE)
        assert 'name="next" value="/"' in page.text


def test_pages_carry_a_strict_content_security_policy_and_cookie_flags(demo_client: TestClient) -> None:
    page = demo_client.get("/login", headers=PAGE)
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    cookie = page.headers["set-cookie"]
    assert CSRF_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()


def test_over_https_the_cookies_are_host_only_and_secure(demo_client: TestClient) -> None:
    browser = TestClient(demo_client.app, base_url="https://testserver")
    page = browser.get("/login", headers=PAGE)
    assert page.headers["set-cookie"].startswith(f"__Host-{CSRF_COOKIE}=")
    assert "Secure" in page.headers["set-cookie"]
    signed_in = browser.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": "civil-analyst", "password": PASSWORD},
        headers=PAGE,
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    session = next(c for c in signed_in.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert session.startswith(f"__Host-{SESSION_COOKIE}=")
    assert "Secure" in session
    assert "Path=/" in session
    assert "Domain" not in session
    assert "civil-analyst" in browser.get("/workspace/applications", headers=PAGE).text  # the prefixed cookie is read
    home = browser.get("/", headers=PAGE).text
    out = browser.post("/logout", data={"csrf": csrf_of(home)}, headers=PAGE, follow_redirects=False)
    assert any(c.startswith(f'__Host-{SESSION_COOKIE}=""') for c in out.headers.get_list("set-cookie"))


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def publish_hostile_resource(demo: Platform) -> str:
    """An open resource whose provider wrote markup into every text it could (through the real use cases)."""
    code = "psb.hostile_titles"
    with demo.transaction() as session:
        provider = actor_for_user(find_user(session, "psb-admin"), via="test")
        manager = actor_for_user(find_user(session, "manager"), via="test")
        description = draft(
            code,
            title_zh=HOSTILE,
            title_en=HOSTILE,
            abstract_zh=HOSTILE,
            tags=[HOSTILE[:40]],
            open_type=OpenType.OPEN,
            sharing_type=SharingType.UNCONDITIONAL,
            licence="CC-BY-4.0",
            contact=Contact(name=HOSTILE[:100]),
            fields=[FieldSpec(name="plate", title_zh=HOSTILE, title_en=HOSTILE, primary_key=True, nullable=False)],
        )
        catalog.register_resource(session, provider, data=description)
        catalog.submit_resource(session, provider, code=code)
        catalog.review_resource(session, manager, code=code, decision=ReviewDecision(decision="publish"))
    return code


def test_text_written_by_users_is_escaped(demo: Platform, demo_client: TestClient) -> None:
    code = publish_hostile_resource(demo)
    for path in (f"/datasets/{code}", "/datasets?q=script", "/", "/?lang=en"):
        html = demo_client.get(path, headers=PAGE).text
        assert code in html, path
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert "&lt;script&gt;alert(" in html, path
    search = demo_client.get("/datasets", params={"q": '"><script>alert(1)</script>'}, headers=PAGE).text
    assert "<script>alert(1)" not in search
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in search


def test_a_page_view_spends_no_quota_issues_no_grant_and_logs_no_refusal(
    demo: Platform, demo_client: TestClient
) -> None:
    """A link can make a signed-in browser visit any page: the visit must not act for the visitor."""
    from sluice.audit.models import AuditEvent
    from sluice.demo.grants import MARRIAGE_CHECK
    from sluice.gateway.models import Grant

    def state() -> tuple[int, int, int]:
        with demo.reading() as session:
            calls = session.scalars(select(Grant.calls_used).where(Grant.purpose == MARRIAGE_CHECK)).one()
            grants = len(session.scalars(select(Grant.id)).all())
            refusals = len(session.scalars(select(AuditEvent.id).where(AuditEvent.action == "gateway.refuse")).all())
        return calls, grants, refusals

    sign_in(demo_client, "civil-analyst")
    before = state()
    for purpose in (MARRIAGE_CHECK, "attacker's purpose", ""):
        page = demo_client.get("/datasets/psb.residents", params={"purpose": purpose}, headers=PAGE)
        assert page.status_code == 200
        assert 'action="/datasets/psb.residents/preview#preview"' in page.text  # asked for, not done
    demo_client.get("/datasets/amr.enterprises", params={"purpose": "x"}, headers=PAGE)
    demo_client.get("/datasets/health.vaccinations", params={"purpose": "x"}, headers=PAGE)
    assert state() == before
    page = demo_client.get("/datasets/psb.residents", headers=PAGE)
    asked = demo_client.post(
        "/datasets/psb.residents/preview", data={"csrf": csrf_of(page.text), "purpose": MARRIAGE_CHECK}, headers=PAGE
    )
    assert asked.status_code == 200
    assert '<th scope="col">id_number</th>' in asked.text
    assert state()[0] == before[0] + 1  # asked for: one call of the quota


def test_the_language_links_stay_on_this_site(demo_client: TestClient) -> None:
    for path in ("/nope", "//evil.example/x", "/%2F%2Fevil.example"):
        html = demo_client.get(path, headers=PAGE).text
        links = re.findall(r'<a href="([^"]*)" lang="', html)
        assert links
        assert all(link.startswith("?") for link in links), links


def test_a_non_ascii_csrf_value_is_refused_not_a_crash(demo_client: TestClient) -> None:
    demo_client.get("/login", headers=PAGE)
    answer = demo_client.post("/login", data={"username": "x", "password": "y", "csrf": "é"}, headers=PAGE)
    assert answer.status_code == 403


def test_signing_in_again_ends_the_earlier_session_and_pages_are_not_cached(
    demo: Platform, demo_client: TestClient
) -> None:
    sign_in(demo_client, "civil-analyst")
    first = demo_client.cookies.get(SESSION_COOKIE)
    sign_in(demo_client, "civil-analyst")
    assert demo_client.cookies.get(SESSION_COOKIE) != first
    with demo.reading() as session:
        live = session.scalars(select(ApiToken).where(ApiToken.name == "portal", ApiToken.revoked_at.is_(None))).all()
    assert len(live) == 1
    assert demo_client.get("/workspace/grants", headers=PAGE).headers["cache-control"] == "no-store"
    assert "cache-control" not in TestClient(demo_client.app).get("/", headers=PAGE).headers
