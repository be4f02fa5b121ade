"""DCAT-AP 3 views of the catalog: /catalog.ttl, /catalog.jsonld, /dataset/{code}.ttl|.jsonld.

They show the published resources the caller may see (a signed-in department sees more than the public),
described by `sluice.catalog.dcat`; IRIs are made from the base URL the caller used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from sluice.api.deps import ActorDep, ReadSessionDep
from sluice.catalog import dcat, service
from sluice.catalog.schemas import ResourcePublic, SearchQuery, Sort
from sluice.catalog.vocab import RevisionStatus
from sluice.errors import NotFound
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.schemas import OrganisationPublic

router = APIRouter(tags=["dcat"])

TURTLE = "text/turtle"  # Starlette adds "; charset=utf-8" to text/* types
JSON_LD = "application/ld+json"
PAGE_SIZE = 100
LAST_PAGE = 100_000 // PAGE_SIZE + 1  # search offsets stop at 100 000
PLATFORM_CODE = "platform"

PageNumber = Annotated[int, Query(ge=1, le=LAST_PAGE, description=f"1-based; {PAGE_SIZE} datasets a page.")]


def _content(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": "DCAT-AP 3"}}


@router.get(
    "/catalog.ttl",
    response_class=Response,
    responses=_content(TURTLE),
    summary="The catalog in DCAT-AP 3 (Turtle), a page of 100 datasets with Hydra links to the others",
)
def catalog_turtle(request: Request, session: ReadSessionDep, actor: ActorDep, page: PageNumber = 1) -> Response:
    graph = dcat.catalog_graph(_catalog_page(session, actor, page, "catalog.ttl"), _site(request))
    return Response(dcat.turtle(graph), media_type=TURTLE)


@router.get(
    "/catalog.jsonld",
    response_class=Response,
    responses=_content(JSON_LD),
    summary="The catalog in DCAT-AP 3 (JSON-LD), a page of 100 datasets with Hydra links to the others",
)
def catalog_json_ld(request: Request, session: ReadSessionDep, actor: ActorDep, page: PageNumber = 1) -> Response:
    graph = dcat.catalog_graph(_catalog_page(session, actor, page, "catalog.jsonld"), _site(request))
    return Response(dcat.json_ld(graph), media_type=JSON_LD)


@router.get(
    "/dataset/{code}.ttl",
    response_class=Response,
    responses=_content(TURTLE),
    summary="A published resource in DCAT-AP 3 (Turtle)",
)
def dataset_turtle(request: Request, session: ReadSessionDep, actor: ActorDep, code: str) -> Response:
    graph = dcat.dataset_graph(*_published(session, actor, code), _site(request))
    return Response(dcat.turtle(graph), media_type=TURTLE)


@router.get(
    "/dataset/{code}.jsonld",
    response_class=Response,
    responses=_content(JSON_LD),
    summary="A published resource in DCAT-AP 3 (JSON-LD)",
)
def dataset_json_ld(request: Request, session: ReadSessionDep, actor: ActorDep, code: str) -> Response:
    graph = dcat.dataset_graph(*_published(session, actor, code), _site(request))
    return Response(dcat.json_ld(graph), media_type=JSON_LD)


def _site(request: Request) -> dcat.Site:
    return dcat.Site.at(str(request.base_url))


def _published(session: Session, actor: Actor, code: str) -> tuple[ResourcePublic, OrganisationPublic]:
    resource = service.get_resource(session, actor, code=code)
    if resource.status is not RevisionStatus.PUBLISHED:  # a provider's own draft: not in the catalog yet
        raise NotFound(f"no published resource {code!r} that you may see", resource=code)
    return resource, identity.get_organisation(session, actor, code=resource.organisation)


def _catalog_page(session: Session, actor: Actor, number: int, document: str) -> dcat.CatalogPage:
    # Sorted by code, so that pages stay put while resources are published.
    query = SearchQuery(
        sort=Sort.CODE, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE, facets=[], published_only=True
    )
    found = service.search_resources(session, actor, query=query)
    paging = dcat.Paging.of(document, number, PAGE_SIZE, found.count)
    if number > paging.last:
        raise NotFound(f"no page {number}: the catalog has {paging.last} page(s)", page=number, last=paging.last)
    datasets = service.get_resources(session, actor, codes=[item.code for item in found.items])
    return dcat.CatalogPage(
        datasets=datasets,
        publishers=_organisations(session, actor, {d.organisation for d in datasets}),
        platform=_platform(session, actor),
        modified=_latest_publication(session, actor),
        paging=paging,
    )


def _organisations(session: Session, actor: Actor, codes: set[str]) -> dict[str, OrganisationPublic]:
    return {code: identity.get_organisation(session, actor, code=code) for code in sorted(codes)}


def _platform(session: Session, actor: Actor) -> OrganisationPublic | None:
    try:
        return identity.get_organisation(session, actor, code=PLATFORM_CODE)
    except NotFound:
        return None


def _latest_publication(session: Session, actor: Actor) -> datetime | None:
    query = SearchQuery(sort=Sort.NEWEST, limit=1, facets=[], published_only=True)
    newest = service.search_resources(session, actor, query=query)
    return newest.items[0].published_at if newest.items else None
