"""The public open-data portal and signing in: each route reads the request, calls the same use cases as the
API, and renders a template. No logic of its own beyond choosing what to show."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from sluice.api.deps import PlatformDep
from sluice.api.feedback import feedback_allowed
from sluice.api.gateway import anonymous_allowed, file_response, in_turn
from sluice.catalog import service as catalog
from sluice.catalog.schemas import FACETS, ResourcePublic, SearchQuery, SearchResult
from sluice.errors import Forbidden, NotFound, SluiceError, Unauthenticated
from sluice.feedback import service as feedback_service
from sluice.feedback.schemas import FeedbackCreate
from sluice.gateway.querying import RowsPage, rows_page
from sluice.gateway.querying import download as download_resource
from sluice.gateway.schemas import GrantPublic
from sluice.identity import service as identity
from sluice.identity.authn import verify_login
from sluice.lake import service as lake
from sluice.lake.schemas import VersionPublic
from sluice.platform import Platform
from sluice.sharing import service as sharing
from sluice.web.i18n import _
from sluice.web.profiles import profile_charts
from sluice.web.rendering import pick, problem_status, problem_text, render
from sluice.web.security import (
    FORM_BODY_MAX,
    SESSION_NAME,
    SMALL_FORMS,
    Visitor,
    check_form,
    end_session,
    start_session,
    visitor,
)

router = APIRouter(include_in_schema=False, form_limits=SMALL_FORMS, max_body_size=FORM_BODY_MAX)

PAGE_SIZE = 20
OPEN_DATA = "open data"
log = logging.getLogger("sluice.web")
OWN_DATA = "own data"
PREVIEW_ROWS = 10
SESSION_LIFETIME = timedelta(hours=12)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, platform: PlatformDep) -> Response:
    who = visitor(request, platform)
    with platform.reading() as session:
        newest = catalog.search_resources(
            session,
            who.actor,
            query=SearchQuery(published_only=True, sort=None, limit=6, facets=["tag", "organisation"]),
        )
    topics = newest.facets.get("tag", [])[:12]
    return render(
        request, who, "home.html", newest=newest, topics=topics, organisations=_organisation_names(platform, who)
    )


@router.get("/datasets", response_class=HTMLResponse)
def datasets(request: Request, platform: PlatformDep) -> Response:
    who = visitor(request, platform)
    asked = _search_query(request)
    with platform.reading() as session:
        found = catalog.search_resources(session, who.actor, query=asked)
    return render(
        request,
        who,
        "datasets.html",
        asked=asked,
        found=found,
        facets=[(name, found.facets.get(name, [])) for name in FACETS],
        pages=_pages(request, asked, found),
        toggle=lambda name, value: _toggled(request, name, value),
        chosen=lambda name, value: value in request.query_params.getlist(name),
        organisations=_organisation_names(platform, who),
    )


def _organisation_names(platform: Platform, who: Visitor) -> dict[str, str]:
    with platform.reading() as session:
        listed = identity.list_organisations(session, who.actor, limit=min(500, platform.settings.page_size_max))
    return {org.code: pick(org, "name") for org in listed.items}


@dataclass(frozen=True)
class PreviewPlan:
    """Under which purpose the dataset page may read rows, and whether it may do so on a plain visit.

    A page view must not spend a grant's calls, issue a standing grant under a purpose typed into a link, or log a
    refusal in the visitor's name — a link from anywhere can make a browser visit a page. So a visit previews
    only open data, a department's own data, or under one of its grants without a quota; anything else waits
    for the visitor to ask, with a form carrying the CSRF token."""

    purpose: str | None  # None: no preview here (``why`` says what to do)
    automatic: bool
    why: str | None = None
    standing: bool = False  # the visitor may preview under a purpose of its own (a standing grant is issued)
    quota: int | None = None


def _plan(who: Visitor, resource: ResourcePublic, grants: dict[str, GrantPublic], chosen: str | None) -> PreviewPlan:
    if who.actor.org_code == resource.organisation:
        return PreviewPlan(OWN_DATA, automatic=True)
    if grants:
        purpose = chosen if chosen in grants else next(iter(grants))
        quota = grants[purpose].quota
        return PreviewPlan(purpose, automatic=quota is None, quota=quota)
    if resource.open_type.value == "open":
        return PreviewPlan(OPEN_DATA, automatic=True)
    if not who.signed_in:
        return PreviewPlan(
            None,
            automatic=False,
            why=_("Sign in to preview this dataset; departments apply for access in their workspace."),
        )
    if resource.sharing_type.value == "unconditional" and resource.grade.value == "general":
        return PreviewPlan(None, automatic=False, standing=True)
    return PreviewPlan(None, automatic=False, why=_("Your department has no grant for this dataset."))


@router.get("/datasets/{code}", response_class=HTMLResponse)
async def dataset(request: Request, platform: PlatformDep, code: str) -> Response:
    who = await run_in_threadpool(visitor, request, platform)
    page = await _dataset_page(
        request, platform, code, chosen=request.query_params.get("purpose"), asked=False, who=who
    )
    await run_in_threadpool(_count_view, platform, who, code)
    return page


def _count_view(platform: Platform, who: Visitor, code: str) -> None:
    """Best effort: a page already rendered is sent even when the count could not be written (a busy SQLite)."""
    try:
        with platform.transaction() as session:
            catalog.count_view(session, who.actor, code=code)
    except SQLAlchemyError as error:
        log.warning("the view of %s was not counted: %s", code, type(error).__name__)


@router.post("/datasets/{code}/preview", response_class=HTMLResponse)
async def preview(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    purpose: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A preview the visitor asked for: under a grant with a quota (it spends a call), or under a purpose of its
    own for an unconditionally shared dataset (a standing grant is issued)."""
    who = await run_in_threadpool(visitor, request, platform)
    check_form(request, who, csrf)
    return await _dataset_page(request, platform, code, chosen=purpose.strip() or None, asked=True)


async def _dataset_page(
    request: Request,
    platform: Platform,
    code: str,
    *,
    chosen: str | None,
    asked: bool,
    feedback: tuple[dict[str, str], str] | None = None,
    status: int = 200,
    who: Visitor | None = None,
) -> Response:
    """The dataset's page; ``feedback`` is a refused feedback form (what was typed, what was wrong)."""
    if who is None:
        who = await run_in_threadpool(visitor, request, platform)
    resource, versions, grants = await run_in_threadpool(_dataset_facts, platform, who, code)
    plan = _plan(who, resource, grants, chosen)
    if asked and plan.standing and chosen:
        plan = PreviewPlan(chosen, automatic=True)
    rows, refusal = None, plan.why
    if plan.purpose is not None and (plan.automatic or asked):
        rows, refusal = await _previewed(request, platform, who, resource, plan.purpose)
    serving = next((v for v in versions if v.serving), None)
    return render(
        request,
        who,
        "dataset.html",
        status,
        resource=resource,
        versions=versions,
        serving=serving,
        preview=rows,
        refusal=refusal,
        plan=plan,
        profile=profile_charts(resource, serving.profile if serving else None),
        purposes=list(grants),
        may_apply=_may_apply(who, resource),
        may_object=who.signed_in and who.actor.org_code not in (None, resource.organisation),
        column_types={field.name: field.type.value for field in resource.fields},
        base_url=str(request.base_url).rstrip("/"),
        feedback_sent=_reference(request.query_params.get("feedback")),
        feedback_typed=feedback[0] if feedback else {},
        feedback_problem=feedback[1] if feedback else None,
    )


def _dataset_facts(
    platform: Platform, who: Visitor, code: str
) -> tuple[ResourcePublic, list[VersionPublic], dict[str, GrantPublic]]:
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
        return resource, _versions(session, who, code), _my_grants(session, who, code)


async def _previewed(
    request: Request, platform: Platform, who: Visitor, resource: ResourcePublic, purpose: str
) -> tuple[RowsPage | None, str | None]:
    """The first rows as this visitor may see them — through the gateway (grants, masks and the log apply), in
    the gateway's turn and under the public's rate limit, as the API — or why not."""
    params = {"_size": str(PREVIEW_ROWS), "purpose": purpose}
    try:
        anonymous_allowed(request, who.actor)
        return await in_turn(request, lambda: rows_page(platform, who.actor, resource.code, params)), None
    except Unauthenticated:
        return None, _("Sign in to preview this dataset; departments apply for access in their workspace.")
    except SluiceError as error:
        return None, error.message


@router.post("/datasets/{code}/feedback", response_class=HTMLResponse)
async def give_feedback(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    kind: Annotated[str, Form(max_length=16)] = "error",
    message: Annotated[str, Form(max_length=4000)] = "",
    contact: Annotated[str, Form(max_length=400)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Feedback from anyone, signed in or not (CSRF-checked, rate-limited per address like the API's)."""
    who = await run_in_threadpool(visitor, request, platform)
    check_form(request, who, csrf)
    feedback_allowed(request)
    try:
        data = FeedbackCreate.model_validate({"kind": kind, "message": message, "contact": contact or None})
        sent = await run_in_threadpool(_send_feedback, platform, who, code, data)
    except (SluiceError, ValidationError) as error:
        typed = {"message": message, "contact": contact}
        return await _dataset_page(
            request,
            platform,
            code,
            chosen=None,
            asked=False,
            feedback=(typed, problem_text(error)),
            status=problem_status(error),
        )
    return RedirectResponse(f"/datasets/{code}?feedback={sent}#feedback", status_code=303)


def _reference(text: str | None) -> int | None:
    """The reference number a redirect after sending feedback carries (nothing else is echoed)."""
    return int(text) if text and text.isdigit() and len(text) < 19 else None


def _send_feedback(platform: Platform, who: Visitor, code: str, data: FeedbackCreate) -> int:
    with platform.transaction() as session:
        return feedback_service.give_feedback(session, who.actor, code=code, data=data).id


@router.post("/datasets/{code}/download")
async def download(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    format: Annotated[str, Form(max_length=10)] = "csv",
    purpose: Annotated[str, Form(max_length=500)] = OPEN_DATA,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A download from the dataset page, as the visitor (the session cookie): a form carrying the CSRF token, so
    that a link from another site cannot make a browser spend a grant's calls. Rate-limited and taken in turn
    like the API's downloads."""
    who = await run_in_threadpool(visitor, request, platform)
    check_form(request, who, csrf)
    anonymous_allowed(request, who.actor)
    made = await in_turn(request, lambda: download_resource(platform, who.actor, code, fmt=format, purpose=purpose))
    return file_response(made)


def _versions(session: Any, who: Visitor, code: str) -> list[VersionPublic]:
    try:
        return lake.list_versions(session, who.actor, code=code)
    except (Forbidden, NotFound):
        return []


def _my_grants(session: Any, who: Visitor, code: str) -> dict[str, GrantPublic]:
    """The visitor's organisation's active grants on ``code`` by purpose (what a preview may be asked under)."""
    if not who.signed_in:
        return {}
    held = sharing.list_grants(session, who.actor, box="mine", status=["active"])
    return {grant.purpose: grant for grant in sorted(held, key=lambda g: g.purpose) if grant.resource == code}


def _may_apply(who: Visitor, resource: ResourcePublic) -> bool:
    """Whether to offer the application form (the use case decides; this only hides what would be refused):
    conditionally shared data, and unconditionally shared data that is not general-grade (no standing grant)."""
    needs_application = resource.sharing_type.value == "conditional" or (
        resource.sharing_type.value == "unconditional" and resource.grade.value != "general"
    )
    return (
        who.signed_in
        and who.actor.org_code != resource.organisation
        and any(role.value == "consumer" for role in who.actor.roles)
        and needs_application
    )


def _search_query(request: Request) -> SearchQuery:
    params = request.query_params
    lists = {name: params.getlist(name) for name in FACETS if params.getlist(name)}
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    try:
        return SearchQuery(
            q=params.get("q", "")[:200],
            published_only=True,
            sort=params.get("sort") or None,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            facet_limit=12,
            **lists,
        )
    except ValidationError:
        return SearchQuery(q=params.get("q", "")[:200], published_only=True, limit=PAGE_SIZE, facet_limit=12)


def _toggled(request: Request, name: str, value: str) -> str:
    """The search URL with ``name=value`` added, or removed when it is already chosen; back to page 1."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "lang")]
    if (name, value) in pairs:
        pairs.remove((name, value))
    else:
        pairs.append((name, value))
    return "/datasets?" + urlencode(pairs)


def _pages(request: Request, asked: SearchQuery, found: SearchResult) -> dict[str, str | int | None]:
    page = asked.offset // PAGE_SIZE + 1
    last = max(1, -(-found.count // PAGE_SIZE))
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "lang")]

    def link(number: int) -> str:
        return "/datasets?" + urlencode([*pairs, ("page", str(number))])

    return {
        "page": page,
        "last": last,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
    }


# --- Signing in and out -------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, platform: PlatformDep, next: str = "/") -> Response:
    who = visitor(request, platform)
    return render(request, who, "login.html", next=_local(next), problem=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    platform: PlatformDep,
    *,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    who = visitor(request, platform)
    check_form(request, who, csrf)
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.login_limiter.take(client)
    if wait is not None:
        problem = _("Too many sign-in attempts from your address; try again in {seconds} seconds.").format(
            seconds=int(wait) + 1
        )
        return render(request, who, "login.html", 429, next=_local(next), problem=problem, username=username)
    try:
        actor = verify_login(platform, username, password)
    except Unauthenticated:
        problem = _("Wrong username or password, or the account is locked for a while after repeated failures.")
        return render(request, who, "login.html", 401, next=_local(next), problem=problem, username=username)
    with platform.transaction() as session:
        earlier = _token_id(who)
        if earlier is not None and who.actor.username == actor.username:
            identity.revoke_token(session, who.actor, token_id=earlier)  # one session per sign-in, not two
        token = identity.create_token(
            session,
            actor,
            username=actor.username,
            name=SESSION_NAME,
            expires_at=platform.clock.now() + SESSION_LIFETIME,
        )
    response = RedirectResponse(_local(next), status_code=303)
    start_session(response, request, token.token, int(SESSION_LIFETIME.total_seconds()))
    return response


@router.post("/logout")
def logout(request: Request, platform: PlatformDep, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    who = visitor(request, platform)
    check_form(request, who, csrf)
    token_id = _token_id(who)
    if token_id is not None:
        with platform.transaction() as session:
            identity.revoke_token(session, who.actor, token_id=token_id)
    response = RedirectResponse("/", status_code=303)
    end_session(response, request)
    return response


def _token_id(who: Visitor) -> int | None:
    via = who.actor.via or ""
    return int(via.removeprefix("token:")) if who.session_secret and via.startswith("token:") else None


def _local(target: str) -> str:
    """Only paths on this site: an open redirect would let a phishing link borrow our sign-in page."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def error_page(request: Request, platform: Platform, status: int, message: str) -> Response:
    """The page for a refusal or a failure, in the reader's language (the message is the use case's own)."""
    return render(request, visitor(request, platform), "error.html", status, code=status, message=message)
