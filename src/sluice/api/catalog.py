"""REST routes of the catalog: resources, their revisions and review, search, and the data elements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sluice.api.deps import ActorDep, ReadSessionDep, SessionDep
from sluice.catalog import service
from sluice.catalog.schemas import (
    FACETS,
    DataElementCreate,
    DataElementPublic,
    ResourceCreate,
    ResourceDescription,
    ResourcePublic,
    ResourceSummary,
    ReviewDecision,
    RevisionPublic,
    SearchQuery,
    SearchResult,
    Sort,
)
from sluice.catalog.vocab import Category, Format, Grade, OpenType, SharingType

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.get("/resources", response_model=SearchResult, summary="Search and list resources, with facets")
def search_resources(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    q: Annotated[str, Query(max_length=200, description="Words in Chinese or English; all must match.")] = "",
    organisation: Annotated[list[str] | None, Query(description="Provider organisation code(s).")] = None,
    category: Annotated[list[Category] | None, Query()] = None,
    tag: Annotated[list[str] | None, Query()] = None,
    sharing_type: Annotated[list[SharingType] | None, Query()] = None,
    open_type: Annotated[list[OpenType] | None, Query()] = None,
    grade: Annotated[list[Grade] | None, Query()] = None,
    format: Annotated[list[Format] | None, Query()] = None,
    sort: Sort | None = None,
    limit: Annotated[int, Query(ge=0, le=1000)] = 20,
    cursor: Annotated[str | None, Query(alias="next", description="The `next` value of the previous page.")] = None,
    facet: Annotated[
        list[str] | None, Query(description=f"Facets to count (default all: {', '.join(FACETS)}).")
    ] = None,
) -> SearchResult:
    query = SearchQuery(
        q=q,
        organisation=organisation or [],
        category=category or [],
        tag=tag or [],
        sharing_type=sharing_type or [],
        open_type=open_type or [],
        grade=grade or [],
        format=format or [],
        sort=sort,
        limit=limit,
        offset=_offset(cursor),
        facets=facet if facet is not None else list(FACETS),
    )
    return service.search_resources(session, actor, query=query)


@router.post(
    "/resources",
    response_model=ResourcePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register a resource (provider); it starts as a draft",
)
def register_resource(session: SessionDep, actor: ActorDep, body: ResourceCreate) -> ResourcePublic:
    return service.register_resource(session, actor, data=body)


@router.get(
    "/resources/review-queue", response_model=list[ResourceSummary], summary="Resources waiting for review (manager)"
)
def review_queue(session: ReadSessionDep, actor: ActorDep) -> list[ResourceSummary]:
    return service.list_review_queue(session, actor)


@router.get("/resources/{code}", response_model=ResourcePublic, summary="Show a resource")
def read_resource(session: ReadSessionDep, actor: ActorDep, code: str) -> ResourcePublic:
    return service.get_resource(session, actor, code=code)


@router.put(
    "/resources/{code}",
    response_model=ResourcePublic,
    summary="Change a resource's description (a published one gets a new revision, reviewed again)",
)
def update_resource(session: SessionDep, actor: ActorDep, code: str, body: ResourceDescription) -> ResourcePublic:
    return service.update_resource(session, actor, code=code, data=body)


@router.post(
    "/resources/{code}/submit", response_model=ResourcePublic, summary="Submit the working revision for review"
)
def submit_resource(session: SessionDep, actor: ActorDep, code: str) -> ResourcePublic:
    return service.submit_resource(session, actor, code=code)


@router.post(
    "/resources/{code}/review",
    response_model=ResourcePublic,
    summary="Publish the submitted revision, or return it with a comment (manager)",
)
def review_resource(session: SessionDep, actor: ActorDep, code: str, body: ReviewDecision) -> ResourcePublic:
    return service.review_resource(session, actor, code=code, decision=body)


@router.get(
    "/resources/{code}/revisions", response_model=list[RevisionPublic], summary="A resource's revisions, newest first"
)
def list_revisions(session: ReadSessionDep, actor: ActorDep, code: str) -> list[RevisionPublic]:
    return service.list_revisions(session, actor, code=code)


@router.get("/data-elements", response_model=list[DataElementPublic], summary="The data element library (数据元)")
def list_data_elements(session: ReadSessionDep, actor: ActorDep) -> list[DataElementPublic]:
    return service.list_data_elements(session, actor)


@router.get("/data-elements/{code}", response_model=DataElementPublic, summary="One data element")
def read_data_element(session: ReadSessionDep, actor: ActorDep, code: str) -> DataElementPublic:
    return service.get_data_element(session, actor, code=code)


@router.post(
    "/data-elements",
    response_model=DataElementPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a data element: a pattern, a code list or a built-in validator (manager)",
)
def create_data_element(session: SessionDep, actor: ActorDep, body: DataElementCreate) -> DataElementPublic:
    return service.create_data_element(session, actor, data=body)


def _offset(cursor: str | None) -> int:
    from sluice.errors import Invalid

    if not cursor:
        return 0
    if not cursor.isdigit() or int(cursor) > 100_000:
        raise Invalid(
            "the page cursor is not valid; pass the `next` value of the previous page unchanged", field="next"
        )
    return int(cursor)
