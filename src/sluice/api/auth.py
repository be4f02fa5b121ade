"""Signing in with a password over the API (OAuth2 password grant): returns a short-lived API token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from sluice.api.deps import PlatformDep
from sluice.errors import Exhausted
from sluice.identity import service
from sluice.identity.authn import verify_login

router = APIRouter(prefix="/api/v1/auth", tags=["identity"])

LOGIN_TOKEN_LIFETIME = timedelta(hours=12)
# At most this many password checks run at once in a process: argon2 is deliberately costly, and a flood
# of sign-ins must not starve every other request of CPU.
CONCURRENT_PASSWORD_CHECKS = 2


def login_allowed(request: Request) -> None:
    """Refuse a client that signs in too often (429 with Retry-After), before any password is checked."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.login_limiter.take(client)
    if wait is not None:
        raise Exhausted(
            f"too many sign-in attempts from {client}; try again in {int(wait) + 1} seconds",
            retry_after=int(wait) + 1,
        )


LoginGate = Depends(login_allowed, max_concurrency=CONCURRENT_PASSWORD_CHECKS)


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


@router.post(
    "/token",
    response_model=AccessToken,
    summary="Sign in with username and password; get a 12-hour token",
    dependencies=[LoginGate],
)
def sign_in(platform: PlatformDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> AccessToken:
    actor = verify_login(platform, form.username, form.password)
    with platform.transaction() as session:
        token = service.create_token(
            session,
            actor,
            username=actor.username,
            name="login",
            expires_at=platform.clock.now() + LOGIN_TOKEN_LIFETIME,
        )
    return AccessToken(access_token=token.token, expires_in=int(LOGIN_TOKEN_LIFETIME.total_seconds()))
