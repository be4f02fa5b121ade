"""Screenshots of the portal's main pages for the README: `make screenshots` (python -m tests.web.screenshots).

Builds the demo government in a temporary folder, serves it on a free port, and drives Debian's Chromium (the
browser tests' launch flags) over the pages, writing ``docs/screenshots/*.png``. Chinese text needs a CJK font on
the machine taking them (Debian: ``apt-get install fonts-wqy-microhei`` or ``fonts-noto-cjk``); without one the
script stops rather than write pictures full of empty boxes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from sluice.api.app import create_app
from sluice.demo.build import DEMO_PASSWORD, build_demo
from sluice.platform import Platform
from sluice.settings import Settings
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

OUT = Path(__file__).parents[2] / "docs" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS: tuple[tuple[str, str, str, ViewportSize, str | None], ...] = (
    ("home", "/", "zh-CN", DESKTOP, None),
    ("search", "/datasets?q=人口", "zh-CN", DESKTOP, None),
    ("dataset", "/datasets/psb.population_stats", "zh-CN", DESKTOP, None),
    ("dataset-en", "/datasets/psb.population_stats?lang=en", "en", DESKTOP, None),
    ("login", "/login", "zh-CN", DESKTOP, None),
    ("phone", "/datasets?q=人口", "zh-CN", PHONE, None),
    ("requests", "/workspace/applications?box=to_me", "zh-CN", DESKTOP, "psb-admin"),
    ("grants", "/workspace/grants?box=mine", "zh-CN", DESKTOP, "civil-analyst"),
    ("audit", "/audit?start=2026-01-01&end=2026-12-31", "zh-CN", DESKTOP, "auditor"),
    ("health", "/manage/health", "zh-CN", DESKTOP, "manager"),
    ("operate", "/operate", "en", DESKTOP, "operator"),
    ("my-resources", "/workspace/resources", "zh-CN", DESKTOP, "psb-admin"),
    ("register", "/workspace/resources/new", "zh-CN", DESKTOP, "civil-admin"),
    ("version", "/workspace/resources/psb.residents/versions/1", "zh-CN", DESKTOP, "psb-admin"),
    ("ingestions", "/operate/ingestions", "en", DESKTOP, "operator"),
)


def has_cjk_font() -> bool:
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def serve(platform: Platform) -> tuple[uvicorn.Server, str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(platform), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{listener.getsockname()[1]}"


def main() -> int:
    from playwright.sync_api import sync_playwright

    if shutil.which("fc-list") is None or not has_cjk_font():
        print("no CJK font here: install fonts-wqy-microhei (or fonts-noto-cjk) first", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch) / "data")
        build_demo(settings)
        platform = Platform.open(settings)
        server, base = serve(platform)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, path, locale, viewport, username in SHOTS:
                    context = browser.new_context(base_url=base, locale=locale, viewport=viewport)
                    page = context.new_page()
                    if username:
                        page.goto("/login")
                        page.locator("#username").fill(username)
                        page.locator("#password").fill(DEMO_PASSWORD)
                        page.locator("form.stacked button[type=submit]").click()
                        page.wait_for_url("**/")
                    page.goto(path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=name.startswith(("dataset", "audit")))
                    context.close()
                    print(f"docs/screenshots/{name}.png")
                browser.close()
        finally:
            server.should_exit = True
            platform.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
