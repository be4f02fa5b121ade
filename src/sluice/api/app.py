"""The application factory. The Platform is built in the lifespan (or handed in by tests), never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute

from sluice import __version__
from sluice.api import (
    audit,
    auth,
    catalog,
    controls,
    dcat,
    feedback,
    gateway,
    health,
    identity,
    inbox,
    lake,
    sharing,
    sources,
)
from sluice.api.docs import install_docs
from sluice.api.errors import install_error_handlers
from sluice.audit.sequencer import BATCH, head_due, sequence, sign_tree_head
from sluice.compat import ckan
from sluice.identity.actor import Actor
from sluice.inbox.webhooks import WebhookDispatcher
from sluice.periodic import Periodic
from sluice.platform import Platform
from sluice.ratelimit import RateLimiter
from sluice.settings import Settings
from sluice.sharing.service import sweep_deadlines
from sluice.web.app import install_portal, pages_for_browsers

DESCRIPTION = """\
Sluice shares government data safely: a standard catalog, governed access under grants, privacy
protection and a tamper-evident log. Authenticate with `Authorization: Bearer <token>`.
Every error has the shape `{"error": {"code", "message", "detail"}}`.
"""


def _operation_id(route: APIRoute) -> str:
    # Stable operation ids (the route function's name) so generated clients do not churn.
    return route.name


def _background(platform: Platform, owned: bool) -> list[Periodic]:
    """This process's timers: webhook deliveries and the deadline sweep, each unless its interval is 0. A
    platform handed in (tests) gets a timer only if its settings name the interval explicitly."""
    settings = platform.settings
    chosen = {
        name: getattr(settings, name)
        for name in ("webhook_interval_seconds", "deadline_sweep_seconds", "audit_sequence_seconds")
        if getattr(settings, name) > 0 and (owned or name in settings.model_fields_set)
    }
    timers: list[Periodic] = []
    if "webhook_interval_seconds" in chosen:
        timers.append(WebhookDispatcher(platform, interval=chosen["webhook_interval_seconds"]))
    if "deadline_sweep_seconds" in chosen:
        timers.append(Periodic("sluice-deadlines", lambda: _sweep(platform), interval=chosen["deadline_sweep_seconds"]))
    if "audit_sequence_seconds" in chosen:
        timers.append(Periodic("sluice-audit", lambda: _sequence(platform), interval=chosen["audit_sequence_seconds"]))
    for timer in timers:
        timer.start()
    return timers


def _sequence(platform: Platform) -> bool:
    """One round of group commit into the Merkle log, and a signed tree head when one is due."""
    with platform.transaction() as session:
        done = sequence(session)
        if head_due(session, platform.settings.tree_head_seconds):
            sign_tree_head(session)
    return done >= BATCH


def _sweep(platform: Platform) -> bool:
    with platform.transaction() as session:
        sweep_deadlines(session, Actor.system(via="timer"))
    return False


def create_app(platform: Platform | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the HTTP application; opens the platform from ``settings`` (or the environment) on start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = platform is None
        app.state.platform = opened = platform or Platform.open(settings or Settings())
        app.state.login_limiter = RateLimiter(opened.settings.login_attempts_per_minute, opened.clock)
        app.state.feedback_limiter = RateLimiter(opened.settings.feedback_per_minute, opened.clock)
        app.state.anonymous_limiter = RateLimiter(opened.settings.anonymous_queries_per_minute, opened.clock)
        app.state.gateway_slots = anyio.CapacityLimiter(opened.settings.gateway_concurrency)
        timers = _background(opened, owned)
        try:
            yield
        finally:
            for timer in timers:
                await anyio.to_thread.run_sync(timer.stop)
            if owned:
                app.state.platform.close()

    app = FastAPI(
        title="Sluice",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app, wrap=pages_for_browsers)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(identity.router)
    app.include_router(catalog.router)
    app.include_router(lake.router)
    app.include_router(inbox.router)
    app.include_router(sources.router)
    app.include_router(gateway.router)
    app.include_router(sharing.applications)
    app.include_router(sharing.grants)
    app.include_router(sharing.objections_router)
    app.include_router(controls.router)
    app.include_router(feedback.router)
    app.include_router(audit.router)
    app.include_router(dcat.router)
    app.include_router(ckan.router)
    install_docs(app)
    install_portal(app)
    return app
