"""The signed-in person's own account: personal API tokens (create — the secret shown once —, list, revoke).
A portal session is itself a token (named ``portal``) and shows in the list."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluice.api.deps import PlatformDep, RowId
from sluice.errors import SluiceError, Unauthenticated
from sluice.identity import service as identity
from sluice.identity.authn import verify_login
from sluice.identity.schemas import NewToken
from sluice.platform import Platform
from sluice.web.i18n import _
from sluice.web.rendering import problem_status, render
from sluice.web.security import FORM_BODY_MAX, SESSION_NAME, SMALL_FORMS, Visitor, check_form, visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

LIFETIMES = (7, 30, 90)  # days a personal token may be asked to live (the platform caps it too)


def _page(
    request: Request, platform: Platform, who: Visitor, *, new: NewToken | None, problem: str | None, status: int = 200
) -> Response:
    with platform.reading() as session:
        tokens = identity.list_tokens(session, who.actor, username=who.actor.username)
    response = render(
        request,
        who,
        "tokens.html",
        status,
        tokens=tokens,
        new=new,
        problem=problem,
        lifetimes=LIFETIMES,
        session_name=SESSION_NAME,
    )
    response.headers["Cache-Control"] = "no-store"  # a new secret is on this page: never cache it
    return response


@router.get("/account/tokens", response_class=HTMLResponse)
def tokens(request: Request, platform: PlatformDep) -> Response:
    who = visitor(request, platform)
    if not who.signed_in:
        return RedirectResponse("/login?next=/account/tokens", status_code=303)
    return _page(request, platform, who, new=None, problem=None)


@router.post("/account/tokens", response_class=HTMLResponse)
def create(
    request: Request,
    platform: PlatformDep,
    *,
    name: Annotated[str, Form(max_length=64)] = "",
    days: Annotated[int, Form(ge=1, le=365)] = 30,
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A token may not outlive the credential that makes it, and a portal session lasts 12 hours: so a personal
    token is made with the password, asked again here (as for any sign-in: rate-limited, counted, locked out)."""
    who = visitor(request, platform)
    check_form(request, who, csrf)
    if not who.signed_in:
        return RedirectResponse("/login?next=/account/tokens", status_code=303)
    client = request.client.host if request.client else "unknown"
    if request.app.state.login_limiter.take(client) is not None:
        return _page(request, platform, who, new=None, problem=_("Too many attempts; wait a minute."), status=429)
    try:
        confirmed = verify_login(platform, who.actor.username, password)
        with platform.transaction() as session:
            new = identity.create_token(
                session,
                confirmed,
                username=who.actor.username,
                name=name.strip() or "api",
                expires_at=platform.clock.now() + timedelta(days=days),
            )
    except Unauthenticated:
        return _page(request, platform, who, new=None, problem=_("That is not your password."), status=401)
    except SluiceError as error:
        return _page(request, platform, who, new=None, problem=error.message, status=problem_status(error))
    return _page(request, platform, who, new=new, problem=None)


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request, platform: PlatformDep, token_id: RowId, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    who = visitor(request, platform)
    check_form(request, who, csrf)
    try:
        with platform.transaction() as session:
            identity.revoke_token(session, who.actor, token_id=token_id)
    except SluiceError as error:
        return _page(request, platform, who, new=None, problem=error.message, status=problem_status(error))
    return RedirectResponse("/account/tokens", status_code=303)
