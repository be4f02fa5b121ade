"""The browser harness itself, end to end: Chromium reaches the live demo server, and we can tell what a page
fetched from anywhere else."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from sluice import __version__
from tests.web.conftest import offsite_requests

if TYPE_CHECKING:  # imported for types only, so that without Playwright these tests skip rather than error
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_browser_reads_the_live_servers_health(page: Page) -> None:
    response = page.goto("/healthz")
    assert response is not None
    assert response.ok
    assert response.headers["content-type"].startswith("application/json")
    shown = json.loads(page.locator("pre").first.inner_text())  # Chromium shows a JSON body as text in a <pre>
    assert shown == {"status": "ok", "version": __version__, "database": "ok"}


def test_a_page_from_the_server_asks_nothing_of_any_other_host(page: Page, live_server: str) -> None:
    offsite = offsite_requests(page)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/healthz")
    page.wait_for_load_state("networkidle")
    assert asked[0] == f"{live_server}/healthz"
    assert offsite == []
    # The recorder is not blind: a request elsewhere (.invalid never resolves) is caught.
    page.evaluate("fetch('http://offsite.invalid/x.js').catch(() => null)")
    assert offsite == ["http://offsite.invalid/x.js"]
