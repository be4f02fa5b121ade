"""The browser-test harness: Debian's Chromium, driven through Playwright's sync API, against a live server.

A browser test module sets ``pytestmark = pytest.mark.browser`` and asks for ``page`` (one user) or
``new_page`` (several independent users, each in a context of their own). The marker is what ``pytest -m
browser`` and CI (``.ci/run``) select by; a test that uses the browser without it gets it added at collection,
so that no browser test can slip past CI's SLUICE_REQUIRE_BROWSER.

- ``browser``: Chromium, launched once (launching is slow) and shared by every test under tests/web. Its
  check ``chromium_executable`` skips with the reason where Playwright or Chromium is missing — unless CI
  requires them (SLUICE_REQUIRE_BROWSER: then the tests fail), as ``spark_ready`` does for Spark. Never
  downloads a browser: it launches /usr/bin/chromium (or ``chromium`` on PATH).
- ``live_server``: ``create_app(demo)`` served by uvicorn on 127.0.0.1 in a thread; its base URL. Each test
  gets its own server and its own copy of the demo government.
- ``page`` / ``new_page(locale="zh-CN")``: a page in a fresh context (no cookies, no storage) whose
  ``base_url`` is the live server, so ``page.goto("/healthz")`` works; actions and navigations time out
  after 10 s (``expect`` assertions keep Playwright's own 5 s).
- ``expect(locator)``: Playwright's retrying assertions (imported when first used, so that collecting the tests
  needs no Playwright). Assert on a page through these, never through ``is_visible()`` or ``inner_text()``
  straight after a click: a click returns once its navigation has begun, not when the next page is there.
- ``offsite_requests(page)``: start recording requests to any host but 127.0.0.1 ("nothing from the
  internet").

The Playwright instance lives for the tests/web package, not the whole session: while it runs, its sync API
keeps an asyncio loop marked as running in the main thread, so ``asyncio.run`` and ``anyio.run`` there would
fail in any test that happened to run after the first browser test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import pytest
import uvicorn

from sluice.api.app import create_app
from sluice.platform import Platform

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Request
    from playwright.sync_api._generated import LocatorAssertions  # the type expect() returns; not re-exported

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No internet here: without these Chromium keeps trying its own services and floods refused connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALE = "zh-CN"
TIMEOUT_MS = 10_000
LOCAL_HOST = "127.0.0.1"


def expect(locator: Locator) -> LocatorAssertions:
    """Playwright's ``expect`` for a locator: it retries until the page agrees or its 5 s run out."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


class NewPage(Protocol):
    """``new_page``: a page in a fresh browser context of its own, i.e. another user."""

    def __call__(self, locale: str = LOCALE) -> Page: ...


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the browser is a browser test, even where its module forgot ``pytestmark``."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Where Debian's Chromium is; skipped with the reason where Playwright or Chromium is missing — unless CI
    requires them (SLUICE_REQUIRE_BROWSER). Session-scoped and cheap, so that a skip comes before the demo build."""
    executable = CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")
    missing = (
        "playwright is not installed"
        if importlib.util.find_spec("playwright") is None
        else "no Chromium (/usr/bin/chromium or chromium on PATH)"
        if executable is None
        else None
    )
    if missing is not None:
        if os.environ.get("SLUICE_REQUIRE_BROWSER"):
            pytest.fail(f"browser tests are required here but {missing}")
        pytest.skip(f"{missing}; CI runs the browser tests (SLUICE_REQUIRE_BROWSER)")
    assert executable is not None
    return executable


@pytest.fixture(scope="package")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """Chromium, launched once for all of tests/web and closed after them."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def live_server(demo: Platform) -> Iterator[str]:
    """``create_app(demo)`` on 127.0.0.1 at a port of its own, served by uvicorn in a thread; its base URL."""
    listener = socket.socket()
    listener.bind((LOCAL_HOST, 0))  # bound here, so the port is known and cannot be taken before uvicorn starts
    server = uvicorn.Server(uvicorn.Config(create_app(demo), lifespan="on", log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            listener.close()
            pytest.fail("the live server did not start (its errors are in the captured log)")
        time.sleep(0.01)
    port: int = listener.getsockname()[1]
    try:
        yield f"http://{LOCAL_HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[NewPage]:
    """Opens pages for independent users: each in a fresh context (own cookies) aimed at the live server."""
    contexts: list[BrowserContext] = []

    def open_page(locale: str = LOCALE) -> Page:
        context = browser.new_context(base_url=live_server, locale=locale)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """One user's page (locale zh-CN) in a fresh context aimed at the live server."""
    return new_page()


def offsite_requests(page: Page | BrowserContext) -> list[str]:
    """Start recording: the list returned fills with the URL of every request ``page`` (or every page of a
    context) makes from now on to a host other than 127.0.0.1. Call it before ``goto``; to catch requests made
    after the load event, wait (e.g. ``page.wait_for_load_state("networkidle")``) before asserting it empty."""
    seen: list[str] = []

    def note(request: Request) -> None:
        url = urlsplit(request.url)
        if url.scheme not in {"data", "blob", "about"} and url.hostname != LOCAL_HOST:
            seen.append(request.url)

    page.on("request", note)
    return seen
