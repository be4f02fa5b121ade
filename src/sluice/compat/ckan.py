"""The CKAN Action API (/api/3/action/<name>, /api/action/<name>) over the catalog use cases.

CKAN clients (ckanapi, harvesters, portals) call an action by name, with parameters in the query string, a
form or a JSON body, and read ``{"help", "success": true, "result"}`` or ``{"help", "success": false,
"error": {"__type", "message"}}``. Errors keep CKAN's shape and statuses, so they are rendered here rather
than by the app's handler. Each action parses its parameters, calls use cases as the caller, and maps the
answer with ``ckan_schema``; what a caller sees is what the use cases let it see.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.orm import Session

from sluice import __version__
from sluice.api.deps import ActorDep, PlatformDep, ReadSessionDep
from sluice.api.errors import status_for
from sluice.catalog import service
from sluice.catalog.schemas import ResourceSummary, SearchQuery, SearchResult, Sort
from sluice.compat import ckan_schema as schema
from sluice.compat.ckan_schema import MAX_ROWS, MAX_START, Json
from sluice.db.session import settings_of
from sluice.errors import Conflict, Forbidden, Invalid, NotFound, SluiceError, Unauthenticated
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_token
from sluice.identity.schemas import OrganisationPublic


class BadRequest(Exception):
    """A request CKAN refuses before any action runs: an unknown action, a body that is not a JSON object."""


# --- errors, CKAN's way ----------------------------------------------------------------------------------

# domain error -> (HTTP status, CKAN __type, CKAN's message prefix); CKAN has no 401: a bad key is a 403.
CKAN_ERRORS: dict[type[SluiceError], tuple[int, str, str]] = {
    NotFound: (404, "Not Found Error", "Not found: "),
    Forbidden: (403, "Authorization Error", "Access denied: "),
    Unauthenticated: (403, "Authorization Error", "Access denied: "),
    Invalid: (409, "Validation Error", ""),
    Conflict: (409, "Validation Error", ""),
}


def error_body(error: Exception) -> tuple[int, Json]:
    """The status and the ``error`` member of CKAN's envelope for an error."""
    if isinstance(error, BadRequest):
        return 400, {"__type": "Bad Request", "message": f"Bad request - {error}"}
    if isinstance(error, ValidationError):
        problems = {".".join(map(str, e["loc"])) or "request": [e["msg"]] for e in error.errors()}
        return 409, {"__type": "Validation Error", "message": next(iter(problems.values()))[0], **problems}
    assert isinstance(error, SluiceError)
    status, kind, prefix = next(
        (v for k, v in CKAN_ERRORS.items() if isinstance(error, k)), (status_for(error), error.code, "")
    )
    body: Json = {"__type": kind, "message": prefix + error.message}
    if kind == "Validation Error":
        body[str(error.detail.get("field", "request"))] = [error.message]
    return status, body


def help_url(request: Request, action: str) -> str:
    return f"{site(request)}/api/3/action/help_show?name={quote(action)}"


def site(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class CkanRoute(APIRoute):
    """Answers errors CKAN's way, including those raised while resolving dependencies (a bad key or body)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_the_ckan_way(request: Request) -> Response:
            try:
                return await handle(request)
            except (SluiceError, BadRequest, ValidationError) as error:
                status, body = error_body(error)
                action = request.path_params.get("name", "")
                return JSONResponse({"help": help_url(request, action), "success": False, "error": body}, status)

        return handle_the_ckan_way


router = APIRouter(tags=["ckan"], route_class=CkanRoute)


# --- the call: who asks, and with what ---------------------------------------------------------------------


FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


@dataclass(frozen=True)
class Call:
    """One action call: the read transaction, the caller, the parameters and the site's address."""

    session: Session
    actor: Actor
    params: Mapping[str, object]
    base: str

    def text(self, name: str, default: str = "") -> str:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise Invalid(f"{name} must be a single string", field=name)

    def required(self, name: str) -> str:
        value = self.text(name).strip()
        if not value:
            raise Invalid(f"Missing value: {name}", field=name)
        return value

    def number(self, name: str, default: int, *, low: int = 0, high: int) -> int:
        value = self.params.get(name, default)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"{name} must be an integer", field=name)
        if not low <= value <= high:
            raise Invalid(f"{name} must be between {low} and {high}", field=name)
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.params.get(name, default)
        if isinstance(value, str):
            value = FLAGS.get(value.strip().lower(), value)
        if not isinstance(value, bool):
            raise Invalid(f"{name} must be true or false", field=name)
        return value

    def names(self, name: str) -> list[str]:
        """A list of strings, given as a list or, as CKAN clients do, a JSON list in a string."""
        value = self.params.get(name, [])
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip().startswith("[") else [value]
            except ValueError:
                raise Invalid(f"{name} must be a JSON list of strings", field=name) from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(f"{name} must be a list of strings", field=name)
        return value


Action = Callable[[Call], object]


# --- the actions -----------------------------------------------------------------------------------------


def package_search(call: Call) -> Json:
    """Search the packages (resources) you may see.

    :param q: words in Chinese or English, all of which must match; ``field:value`` terms on the fields
        below filter as in fq; ``*:*`` or nothing matches everything
    :param fq: filters joined by spaces or AND: ``organization:psb``, ``tags:人口``, ``res_format:CSV``,
        ``groups:base`` (a category), ``owner_org``, ``sharing_type``, ``open_type``, ``grade``, and
        ``dataset_type:dataset`` (every package is one); a value may be quoted (``tags:"real estate"``) or a
        list of alternatives (``res_format:(CSV OR JSON)``); a ``+`` before a filter changes nothing
    :param rows: how many packages to return, 0 to 1000 (default 10)
    :param start: how many to skip (default 0)
    :param sort: ``score desc`` (default), ``metadata_modified desc``, ``name asc`` or ``views_recent desc``
    :param facet.field: a JSON list of fields to count: organization, tags, res_format, groups,
        sharing_type, open_type, grade (default: none)
    :param facet.limit: the most values per facet, largest counts first (default 50; -1 for up to 1000)
    :returns: ``{count, results, facets, search_facets, sort}``
    """
    facet_fields = schema.facet_names(call.names("facet.field"))
    query = schema.search_query(
        schema.criteria(call.text("q"), call.text("fq")),
        rows=call.number("rows", 10, high=MAX_ROWS),
        start=call.number("start", 0, high=MAX_START),
        sort=schema.sort_order(call.text("sort")),
        facet_fields=facet_fields,
    )
    facet_limit = call.number("facet.limit", 50, low=-1, high=MAX_ROWS)
    counted = MAX_ROWS if facet_limit == -1 else max(facet_limit, 1)
    found = None if query is None else _search(call, query.model_copy(update={"facet_limit": counted}))
    result = schema.empty_result(facet_fields) if found is None else found
    full = service.get_resources(call.session, call.actor, codes=[item.code for item in result.items])
    packages = [schema.package(resource, call.base) for resource in full]
    display = _organisation_titles(call) if "organization" in facet_fields else {}
    return {
        **schema.search_result(result, packages, facet_fields, facet_limit, display),
        "sort": call.text("sort") or schema.DEFAULT_SORT,
    }


def package_show(call: Call) -> Json:
    """One package (resource) with its resources (one per format) and fields.

    :param id: the resource code, e.g. ``psb.residents``
    """
    return _package(call, call.required("id"))


def package_list(call: Call) -> list[str]:
    """The codes of the packages (resources) you may see, in code order.

    :param limit: how many to return (default all)
    :param offset: how many to skip (default 0)
    """
    offset = call.number("offset", 0, high=MAX_START)
    limit = call.number("limit", MAX_START, high=MAX_START)
    codes = (item.code for item in _every(call, SearchQuery(sort=Sort.CODE, facets=[])))
    return list(islice(codes, offset, offset + limit))


def organization_list(call: Call) -> list[Json] | list[str]:
    """The organizations (departments, enterprises and the platform).

    :param all_fields: return organization dicts with ``package_count`` instead of names (default false)
    :param organizations: a list of names (codes) to return only those
    :param sort: ``name``, ``title`` or ``package_count``, then ``asc`` or ``desc`` (default ``name asc``)
    :param limit: how many to return (default all)
    :param offset: how many to skip (default 0)
    """
    wanted = set(call.names("organizations"))
    orgs = [o for o in _organisations(call) if not wanted or o.code in wanted]
    counts = _package_counts(call, [o.code for o in orgs])
    orgs = _sorted_organisations(orgs, counts, call.text("sort", "name asc"))
    offset = call.number("offset", 0, high=MAX_START)
    orgs = orgs[offset : offset + call.number("limit", MAX_START, high=MAX_START)]
    if not call.flag("all_fields", default=False):
        return [o.code for o in orgs]
    return [schema.organization_details(o, counts[o.code]) for o in orgs]


def organization_show(call: Call) -> Json:
    """One organization, with the number of its packages you may see.

    :param id: the organization's code, e.g. ``psb``
    :param include_datasets: include its packages, at most 1000 (default false)
    """
    org = identity.get_organisation(call.session, call.actor, code=call.required("id"))
    with_datasets = call.flag("include_datasets", default=False)
    query = SearchQuery(organisation=[org.code], sort=Sort.CODE, limit=MAX_ROWS if with_datasets else 0, facets=[])
    found = _search(call, query)
    details = schema.organization_details(org, found.count)
    if with_datasets:
        details["packages"] = [_package(call, item.code) for item in found.items]
    return details


def resource_show(call: Call) -> Json:
    """One resource: a format of a package, with the address to download it.

    :param id: ``<resource code>:<format>``, e.g. ``amr.enterprises:csv``
    """
    code, fmt = schema.distribution_ref(call.required("id"))
    resource = service.get_resource(call.session, call.actor, code=code)
    if fmt not in resource.formats:
        raise NotFound(f"{code} is not offered as {fmt.value}", resource=call.required("id"))
    return schema.distribution(resource, fmt, call.base)


def tag_list(call: Call) -> list[Json] | list[str]:
    """The tags of the packages you may see, in order.

    :param query: only tags containing this text
    :param all_fields: return tag dicts instead of names (default false)
    """
    if call.text("vocabulary_id"):
        raise NotFound("this catalog has no tag vocabularies", vocabulary_id=call.text("vocabulary_id"))
    contains = call.text("query").lower()
    chosen = [t.value for t in service.list_tags(call.session, call.actor) if contains in t.value.lower()]
    return [schema.tag(t) for t in chosen] if call.flag("all_fields", default=False) else chosen


def status_show(call: Call) -> Json:
    """The site: its title, address, the CKAN version its Action API follows, and Sluice's version."""
    return {
        "site_title": "Sluice",
        "site_description": "政务数据共享平台 Government data sharing platform",
        "site_url": call.base,
        "ckan_version": schema.CKAN_VERSION,
        "sluice_version": __version__,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": [],
    }


def help_show(call: Call) -> str:
    """The documentation of an action.

    :param name: the action's name, e.g. ``package_search``
    """
    name = call.required("name")
    if name not in ACTIONS:
        raise NotFound(f"no action {name!r}; actions are: {', '.join(ACTIONS)}", name=name)
    return inspect.getdoc(ACTIONS[name]) or ""


ACTIONS: dict[str, Action] = {
    action.__name__: action
    for action in (
        package_search,
        package_show,
        package_list,
        organization_list,
        organization_show,
        resource_show,
        tag_list,
        status_show,
        help_show,
    )
}


# --- what the actions share --------------------------------------------------------------------------------


def _search(call: Call, query: SearchQuery) -> SearchResult:
    """Search the published packages: drafts are not part of a CKAN catalog (as in CKAN itself)."""
    return service.search_resources(call.session, call.actor, query=query.model_copy(update={"published_only": True}))


def _package(call: Call, code: str) -> Json:
    return schema.package(service.get_resource(call.session, call.actor, code=code), call.base)


def _every(call: Call, query: SearchQuery) -> Iterator[ResourceSummary]:
    """Every resource a query finds, page by page."""
    offset = 0
    while True:
        page = _search(call, query.model_copy(update={"offset": offset, "limit": MAX_ROWS}))
        yield from page.items
        offset += MAX_ROWS
        if offset >= page.count:
            return


def _organisations(call: Call) -> list[OrganisationPublic]:
    limit = settings_of(call.session).page_size_max
    page = identity.list_organisations(call.session, call.actor, limit=limit)
    found = list(page.items)
    while page.next is not None:
        page = identity.list_organisations(call.session, call.actor, cursor=page.next, limit=limit)
        found += page.items
    return found


def _organisation_titles(call: Call) -> dict[str, str]:
    return {o.code: o.name_zh for o in _organisations(call)}


def _package_counts(call: Call, codes: Iterable[str]) -> dict[str, int]:
    """How many resources you may see, per organisation: from one facet when it is complete (every resource
    has one organisation, so it is when its counts add up), else counted one by one for the rest."""
    result = _search(call, SearchQuery(limit=0, facets=["organisation"], facet_limit=1000))
    counts = {f.value: f.count for f in result.facets["organisation"]}
    complete = sum(counts.values()) == result.count
    return {code: counts.get(code, 0) if complete or code in counts else _count(call, code) for code in codes}


def _count(call: Call, organisation: str) -> int:
    return _search(call, SearchQuery(organisation=[organisation], limit=0, facets=[])).count


ORGANISATION_ORDERS: dict[str, Callable[[OrganisationPublic, Mapping[str, int]], tuple[int, str]]] = {
    "name": lambda org, counts: (0, org.code),
    "title": lambda org, counts: (0, org.name_zh),
    "package_count": lambda org, counts: (counts[org.code], org.code),
}


def _sorted_organisations(
    orgs: list[OrganisationPublic], counts: Mapping[str, int], sort: str
) -> list[OrganisationPublic]:
    key, _, direction = sort.strip().lower().partition(" ")
    if key not in ORGANISATION_ORDERS or direction.strip() not in ("", "asc", "desc"):
        raise Invalid(
            f"sort {sort!r} is not supported; use name, title or package_count, then asc or desc", field="sort"
        )
    order = ORGANISATION_ORDERS[key]
    return sorted(orgs, key=lambda org: order(org, counts), reverse=direction.strip() == "desc")


# --- the routes --------------------------------------------------------------------------------------------


def known_action(name: str) -> Action:
    if name not in ACTIONS:
        raise BadRequest(f"Action name not known: {name}")
    return ACTIONS[name]


async def request_params(request: Request) -> dict[str, object]:
    """The parameters: the query string, overridden by a form or JSON body (values given twice become lists)."""
    params = _mixed(request.query_params.multi_items())
    if request.method == "POST":
        params.update(await _body_params(request))
    return params


async def _body_params(request: Request) -> dict[str, object]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return _mixed((key, value) for key, value in form.multi_items() if isinstance(value, str))
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as error:
        raise BadRequest(f"JSON Error: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"JSON Error: the body must be a JSON object, not {type(data).__name__}")
    return data


def _mixed(items: Iterable[tuple[str, str]]) -> dict[str, object]:
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def ckan_actor(
    platform: PlatformDep,
    actor: ActorDep,
    authorization: Annotated[str | None, Header()] = None,
    x_ckan_api_key: Annotated[str | None, Header()] = None,
) -> Actor:
    """The caller. CKAN clients send the bare key in Authorization (and X-CKAN-API-Key); ``Bearer`` works too."""
    if actor.is_user:
        return actor
    bare = authorization.strip() if authorization and " " not in authorization.strip() else None
    key = bare or x_ckan_api_key
    return actor_for_token(platform, key) if key else actor


def action(
    *,
    run: Annotated[Action, Depends(known_action)],
    params: Annotated[dict[str, object], Depends(request_params)],
    actor: Annotated[Actor, Depends(ckan_actor)],
    session: ReadSessionDep,
    request: Request,
    name: str,
) -> JSONResponse:
    """Call a CKAN action; see help_show for each action's parameters."""
    result = run(Call(session=session, actor=actor, params=params, base=site(request)))
    return JSONResponse({"help": help_url(request, name), "success": True, "result": result})


def _add_routes() -> None:
    """GET and POST on CKAN's two paths; one route per method keeps operation ids unique. The unversioned
    path (which ckanapi uses) is left out of the OpenAPI document as a duplicate."""
    for path, shown in (("/api/3/action/{name}", True), ("/api/action/{name}", False)):
        for method in ("GET", "POST"):
            router.add_api_route(
                path,
                action,
                methods=[method],
                name=f"ckan_{'v3_' if shown else ''}action_{method.lower()}",
                include_in_schema=shown,
                summary="CKAN Action API: call an action by name",
            )


_add_routes()
