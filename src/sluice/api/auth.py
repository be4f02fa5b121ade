"""Signing in with a password over the API (OAuth2 password grant): returns a short-lived API token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from sluice.api.deps import PlatformDep
from sluice.identity import service
from sluice.identity.authn import verify_login

router = APIRouter(prefix="/api/v1/auth", tags=["identity"])

LOGIN_TOKEN_LIFETIME = timedelta(hours=12)


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


@router.post("/token", response_model=AccessToken, summary="Sign in with username and password; get a 12-hour token")
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
