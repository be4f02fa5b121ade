"""The operator's console: organisations and accounts (roles visible; disabling and enabling where the operator
may — the use cases refuse platform accounts, which only the shell manages), and the platform's state. The
operator sees no data and no log entries: the pages show accounts, counts and hashes only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluice import __version__
from sluice.api.deps import PlatformDep
from sluice.audit import service as audit
from sluice.errors import Forbidden, SluiceError
from sluice.identity import service as identity
from sluice.identity.roles import Role
from sluice.platform import Platform
from sluice.web.rendering import render
from sluice.web.security import Visitor, check_form, signed_in_visitor

router = APIRouter(include_in_schema=False)

MOST_ACCOUNTS = 500


def _operator(request: Request, platform: Platform) -> Visitor | Response:
    who = signed_in_visitor(request, platform)
    if isinstance(who, Response):
        return who
    if not who.actor.has(Role.OPERATOR):
        raise Forbidden("the operator's console is the operator's", required_role=Role.OPERATOR.value)
    return who


def _page(request: Request, platform: Platform, who: Visitor, *, problem: str | None, status: int = 200) -> Response:
    with platform.reading() as session:
        most = min(MOST_ACCOUNTS, platform.settings.page_size_max)
        organisations = identity.list_organisations(session, who.actor, limit=most).items
        accounts = identity.list_users(session, who.actor, limit=most).items
        try:
            head = audit.latest_tree_head(session, who.actor)
        except SluiceError:
            head = None
    state = {
        "version": __version__,
        "database": platform.engine.dialect.name,
        "tree_size": head.tree_size if head else 0,
        "tree_head_at": head.timestamp if head else None,
    }
    return render(
        request,
        who,
        "operate.html",
        status,
        organisations=organisations,
        accounts=accounts,
        state=state,
        problem=problem,
    )


@router.get("/operate", response_class=HTMLResponse)
def console(request: Request, platform: PlatformDep) -> Response:
    who = _operator(request, platform)
    if isinstance(who, Response):
        return who
    return _page(request, platform, who, problem=None)


@router.post("/operate/accounts/{username}/{action}", response_class=HTMLResponse)
def change_account(
    request: Request,
    platform: PlatformDep,
    username: str,
    action: str,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = _operator(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    steps = {"disable": identity.disable_user, "enable": identity.enable_user}
    try:
        if action not in steps:
            raise Forbidden(f"no action {action!r} on an account")
        with platform.transaction() as session:
            steps[action](session, who.actor, username=username)
    except SluiceError as error:
        return _page(request, platform, who, problem=error.message, status=422)
    return RedirectResponse(f"/operate#account-{username}", status_code=303)
