"""The interactive API docs load nothing from the internet (our users' intranets have no CDN)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_the_docs_page_and_its_assets_are_served_by_the_platform(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    links = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page.text)
    urls = re.findall(r"(?:url|swagger_js_url|swagger_css_url)\W+['\"]([^'\"]+)['\"]", page.text)
    assert links
    for link in links + urls:
        assert link.startswith("/"), f"{link} is not served by the platform"
    assert "cdn" not in page.text.lower()
    for link in links:
        assert client.get(link).status_code == 200, link
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/redoc").status_code == 404
