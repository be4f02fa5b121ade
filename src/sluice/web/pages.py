"""The public open-data portal and signing in: each route reads the request, calls the same use cases as the
API, and renders a template. No logic of its own beyond choosing what to show."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from sluice.api.deps import PlatformDep
from sluice.api.gateway import file_response
from sluice.catalog import service as catalog
from sluice.catalog.schemas import FACETS, ResourcePublic, SearchQuery, SearchResult
from sluice.errors import Exhausted, Forbidden, NotFound, SluiceError, Unauthenticated
from sluice.gateway.querying import RowsPage, rows_page
from sluice.gateway.querying import download as download_resource
from sluice.identity import service as identity
from sluice.identity.authn import verify_login
from sluice.lake import service as lake
from sluice.lake.schemas import VersionPublic
from sluice.platform import Platform
from sluice.sharing import service as sharing
from sluice.web.i18n import _
from sluice.web.profiles import profile_charts
from sluice.web.rendering import pick, render
from sluice.web.security import SESSION_NAME, Visitor, check_form, end_session, start_session, visitor

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
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
        listed = identity.list_organisations(session, who.actor, limit=500)
    return {org.code: pick(org, "name") for org in listed.items}


@router.get("/datasets/{code}", response_class=HTMLResponse)
def dataset(request: Request, platform: PlatformDep, code: str) -> Response:
    who = visitor(request, platform)
    purpose = request.query_params.get("purpose", "")[:500] or None
    with platform.reading() as session:
        resource = catalog.get_resource(session, who.actor, code=code)
        versions = _versions(session, who, code)
        purposes = _my_purposes(session, who, code)
    purpose = purpose or (purposes[0] if purposes else None)
    preview, refusal = _preview(platform, who, resource, purpose)
    serving = next((v for v in versions if v.serving), None)
    return render(
        request,
        who,
        "dataset.html",
        resource=resource,
        versions=versions,
        serving=serving,
        preview=preview,
        refusal=refusal,
        profile=profile_charts(resource, serving.profile if serving else None),
        purpose=purpose,
        purposes=purposes,
        may_apply=_may_apply(who, resource),
        column_types={field.name: field.type.value for field in resource.fields},
        base_url=str(request.base_url).rstrip("/"),
    )


@router.get("/datasets/{code}/download")
async def download(
    request: Request,
    platform: PlatformDep,
    code: str,
    *,
    format: str = "csv",
    purpose: str = "open data",
    csrf: str = "",
) -> Response:
    """A download from the dataset page, as the signed-in visitor (the session cookie). It meters the grant and
    is logged, so it must come from our page: the link carries the CSRF token (a link from another site, which
    the browser would follow with the cookie, does not)."""
    who = visitor(request, platform)
    check_form(request, who, csrf)
    made = await run_in_threadpool(download_resource, platform, who.actor, code, fmt=format, purpose=purpose[:500])
    return file_response(made)


def _versions(session: Any, who: Visitor, code: str) -> list[VersionPublic]:
    try:
        return lake.list_versions(session, who.actor, code=code)
    except (Forbidden, NotFound):
        return []


def _my_purposes(session: Any, who: Visitor, code: str) -> list[str]:
    """The purposes of the visitor's organisation's active grants on ``code`` (what a preview may be asked under)."""
    if not who.signed_in:
        return []
    held = sharing.list_grants(session, who.actor, box="mine", status=["active"])
    return sorted({grant.purpose for grant in held if grant.resource == code})


def _may_apply(who: Visitor, resource: ResourcePublic) -> bool:
    """Whether to offer the application form (the use case decides; this only hides what would be refused)."""
    return (
        who.signed_in
        and who.actor.org_code != resource.organisation
        and any(role.value == "consumer" for role in who.actor.roles)
        and resource.sharing_type.value == "conditional"
    )


def _preview(
    platform: Platform, who: Visitor, resource: ResourcePublic, purpose: str | None
) -> tuple[RowsPage | None, str | None]:
    """The first rows as this visitor may see them — through the gateway, so grants, masks and the log apply —
    or why not."""
    params = {"_size": str(PREVIEW_ROWS)} | ({"purpose": purpose} if purpose else {})
    try:
        return rows_page(platform, who.actor, resource.code, params), None
    except Unauthenticated:
        return None, _("Sign in to preview this dataset; departments apply for access in their workspace.")
    except Exhausted:
        return None, _("Too many requests from your address just now; the preview returns in a minute.")
    except SluiceError as error:
        return None, error.message


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
    end_session(response)
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
