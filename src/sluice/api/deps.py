"""Typed dependencies: the platform, transactional sessions and the calling actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_token
from sluice.platform import Platform

# OAuth2's password flow lets the interactive docs sign in with a username and password; any API token
# (from `sluice tokens create` or POST /api/v1/tokens) is accepted the same way, as a bearer token.
bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An API token, or sign in with a username and password",
)


async def get_platform(request: Request) -> Platform:
    """The application's platform. ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a hop
    that costs more than this lookup (every API request asks for it)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_session(platform: PlatformDep) -> Iterator[Session]:
    """One write transaction per request: committed when the route returns, rolled back if it raises."""
    with platform.transaction() as session:
        yield session


def get_read_session(platform: PlatformDep) -> Iterator[Session]:
    """A read-only transaction, for routes that change nothing (never queues behind a writer)."""
    with platform.reading() as session:
        yield session


# scope="function": commit before the response is sent, so what a client was told happened is durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


def get_actor(platform: PlatformDep, token: Annotated[str | None, Depends(bearer)]) -> Actor:
    """The caller: the account of the bearer token, or the anonymous public when none is sent."""
    if token is None:
        return Actor.anonymous()
    return actor_for_token(platform, token)


ActorDep = Annotated[Actor, Depends(get_actor)]

Cursor = Annotated[str | None, Query(alias="next", description="The `next` value of the previous page.")]
Limit = Annotated[int, Query(description="Items per page, 1 to SLUICE_PAGE_SIZE_MAX (500).")]
# An id or number in a path: SQLite's integers end at 2**63 - 1, and a larger one must be a 422, not a 500.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A positive whole number.")]
