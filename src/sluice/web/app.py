"""Adding the portal to the HTTP application: its pages, its static files, and error pages for browsers."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from sluice.api.errors import Handler
from sluice.web import account, auditing, managing, objections, operating, pages, resources, workspace

STATIC = Path(__file__).parent / "static"
API_PREFIXES = ("/api/", "/catalog.", "/dataset/", "/openapi.json", "/docs", "/redoc")


def install_portal(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(workspace.router)
    app.include_router(resources.router)
    app.include_router(objections.router)
    app.include_router(auditing.router)
    app.include_router(managing.router)
    app.include_router(account.router)
    app.include_router(operating.router)


def wants_page(request: Request) -> bool:
    """A browser navigating the portal (not an API client, not an API path)."""
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def pages_for_browsers(api_handler: Handler) -> Handler:
    """Answer a browser with a page carrying the same status and message the API would have sent."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer = await api_handler(request, exc)
        if not wants_page(request) or not hasattr(request.app.state, "platform"):
            return answer
        message = json.loads(bytes(answer.body)).get("error", {}).get("message", "")
        platform = request.app.state.platform
        return await run_in_threadpool(pages.error_page, request, platform, answer.status_code, message)

    return handle
