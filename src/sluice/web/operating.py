"""The operator's console: organisations and accounts (roles visible; disabling and enabling where the operator
may — the use cases refuse platform accounts, which only the shell manages), the platform's state, ingestion
jobs, and the engines that answer resources (assigning a lake resource to Spark or back to DuckDB). The operator
sees no data and no log entries: the pages show accounts, counts, file names and hashes only."""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sluice import __version__
from sluice.api.deps import PlatformDep
from sluice.audit import service as audit
from sluice.errors import Forbidden, Invalid, SluiceError
from sluice.gateway import placement
from sluice.identity import service as identity
from sluice.identity.roles import Role
from sluice.lake import service as lake
from sluice.lake.schemas import VersionStatus
from sluice.platform import Platform
from sluice.web.rendering import problem_status, render
from sluice.web.security import FORM_BODY_MAX, SMALL_FORMS, Visitor, check_form, signed_in_visitor

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

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
    disk = shutil.disk_usage(platform.settings.lake_dir)
    state = {
        "version": __version__,
        "database": platform.engine.dialect.name,
        "tree_size": head.tree_size if head else 0,
        "tree_head_at": head.timestamp if head else None,
        "disk_free": disk.free,
        "disk_total": disk.total,
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
        return _page(request, platform, who, problem=error.message, status=problem_status(error))
    return RedirectResponse(f"/operate#account-{username}", status_code=303)


@router.get("/operate/ingestions", response_class=HTMLResponse)
def ingestions(request: Request, platform: PlatformDep, status: str = "", cursor: str | None = None) -> Response:
    who = _operator(request, platform)
    if isinstance(who, Response):
        return who
    chosen = VersionStatus(status) if status in set(VersionStatus) else None
    with platform.reading() as session:
        page = lake.list_ingestions(session, who.actor, status=chosen, limit=50, cursor=cursor)
    statuses = [s.value for s in VersionStatus]
    return render(request, who, "ingestions.html", page=page, chosen=chosen, statuses=statuses)


@router.get("/operate/engines", response_class=HTMLResponse)
def engines(request: Request, platform: PlatformDep) -> Response:
    who = _operator(request, platform)
    if isinstance(who, Response):
        return who
    return _engines_page(request, platform, who, problem=None, typed="")


def _engines_page(
    request: Request, platform: Platform, who: Visitor, *, problem: str | None, typed: str, status: int = 200
) -> Response:
    with platform.reading() as session:
        assigned = placement.list_engines(session, who.actor)
    settings = platform.settings
    configured = {
        "duckdb_memory": settings.query_memory_limit,
        "spark_master": settings.spark_master,
        "spark_memory": settings.spark_driver_memory,
    }
    return render(
        request,
        who,
        "engines.html",
        status,
        assigned=assigned,
        configured=configured,
        problem=problem,
        typed=typed,
    )


@router.post("/operate/engines", response_class=HTMLResponse)
def assign_engine(
    request: Request,
    platform: PlatformDep,
    code: Annotated[str, Form(max_length=100)] = "",
    engine: Annotated[str, Form(max_length=20)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    who = _operator(request, platform)
    if isinstance(who, Response):
        return who
    check_form(request, who, csrf)
    try:
        if engine not in set(placement.Assignable):
            raise Invalid(f"no engine {engine!r} may be assigned; choose duckdb or spark", field="engine")
        with platform.transaction() as session:
            placement.assign_engine(session, who.actor, code=code.strip(), engine=placement.Assignable(engine))
    except SluiceError as error:
        return _engines_page(request, platform, who, problem=error.message, typed=code, status=422)
    return RedirectResponse("/operate/engines", status_code=303)
