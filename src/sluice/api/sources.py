"""REST routes of linked sources: link a resource to a table in its department's database, check it."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from sluice.api.deps import ActorDep, PlatformDep, ReadSessionDep, SessionDep
from sluice.lake.schemas import OnError, VersionPublic
from sluice.sources import service
from sluice.sources.checking import check_source
from sluice.sources.schemas import SourceLink, SourcePublic

router = APIRouter(prefix="/api/v1", tags=["linked sources"])


@router.put("/resources/{code}/source", response_model=SourcePublic, summary="Link the resource to a source table")
def link_source(session: SessionDep, actor: ActorDep, code: str, link: SourceLink) -> SourcePublic:
    """The connection is tried and the table's columns matched to the fields before anything is stored; the
    URL is kept encrypted and shown from then on with its password hidden."""
    return service.link_source(session, actor, code=code, link=link)


@router.get("/resources/{code}/source", response_model=SourcePublic, summary="Where the resource's data lives")
def get_source(session: ReadSessionDep, actor: ActorDep, code: str) -> SourcePublic:
    return service.get_source(session, actor, code=code)


@router.delete("/resources/{code}/source", status_code=status.HTTP_204_NO_CONTENT, summary="Remove the link")
def unlink_source(session: SessionDep, actor: ActorDep, code: str) -> Response:
    service.unlink_source(session, actor, code=code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/resources/{code}/source/check",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Validate and profile the linked table; recorded as a version (no data is copied into the lake)",
)
async def check(
    platform: PlatformDep,
    actor: ActorDep,
    code: str,
    on_error: OnError = Query(default=OnError.REJECT),  # noqa: B008 - FastAPI's way to declare a query parameter
) -> VersionPublic:
    return await run_in_threadpool(check_source, platform, actor, code=code, on_error=on_error)
