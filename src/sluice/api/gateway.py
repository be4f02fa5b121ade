"""REST routes of the gateway: governed queries, and grants (recorded directly until issue 6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from sluice.api.deps import ActorDep, PlatformDep, ReadSessionDep, SessionDep
from sluice.gateway import rows, service
from sluice.gateway.querying import query
from sluice.gateway.receipts import ALGORITHM, Receipt
from sluice.gateway.schemas import GrantCreate, GrantPublic, QueryRequest, QueryResult

router = APIRouter(prefix="/api/v1", tags=["gateway"])


@router.post("/query", response_model=QueryResult, summary="A governed SQL query over resources you may use")
async def run_query(platform: PlatformDep, actor: ActorDep, request: QueryRequest) -> QueryResult:
    """One SELECT over resource codes (`FROM psb.residents`), under your grants: only granted fields, masked,
    of the rows your grant covers; the purpose must be your grant's. Every answer and every refusal is audited."""
    return await run_in_threadpool(query, platform, actor, request)


class RowsPage(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    next: str | None = Field(description="Pass as _next for the following page; null on the last.")
    receipt: Receipt


@router.get("/resources/{code}/rows", response_model=RowsPage, summary="Rows with Datasette-style filters")
async def list_rows(request: Request, platform: PlatformDep, actor: ActorDep, code: str) -> RowsPage:
    """`?field__exact=v` (also `__not`, `__in=a,b`, `__gt`, `__gte`, `__lt`, `__lte`, `__contains`,
    `__startswith`, `__isnull=1`), `_sort=field` or `_sort=-field`, `_size` (≤ 1000), `_next` (from the
    previous page), `purpose` (your grant's). The same governed path as POST /api/v1/query."""
    params = dict(request.query_params)
    purpose = params.get("purpose", "open data")

    def page() -> RowsPage:
        with platform.reading() as session:
            fields = service.fields_for(session, actor, code=code, purpose=purpose)
        built = rows.build(code, params, fields, fields)
        answer = query(platform, actor, QueryRequest(sql=built.sql, purpose=purpose, limit=built.size + 1))
        return RowsPage(
            columns=answer.columns,
            rows=answer.rows[: built.size],
            next=rows.next_cursor(answer.rows, answer.columns, built),
            receipt=answer.receipt,
        )

    return await run_in_threadpool(page)


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key_pem: str


@router.get("/keys", response_model=list[PublicKey], summary="The platform's public signing key")
def list_keys(platform: PlatformDep) -> list[PublicKey]:
    """What receipts (and, later, tree heads) are verified with."""
    signer = platform.signer
    return [PublicKey(key_id=signer.key_id, algorithm=ALGORITHM, public_key_pem=signer.public_key_pem)]


@router.get("/grants", response_model=list[GrantPublic], summary="Your organisation's grants")
def list_grants(session: ReadSessionDep, actor: ActorDep) -> list[GrantPublic]:
    return service.list_my_grants(session, actor)


@router.post("/grants", response_model=GrantPublic, status_code=status.HTTP_201_CREATED, summary="Record a grant")
def create_grant(session: SessionDep, actor: ActorDep, data: GrantCreate) -> GrantPublic:
    return service.create_grant(session, actor, data=data)
