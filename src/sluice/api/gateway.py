"""REST routes of the gateway: governed queries, and grants (recorded directly until issue 6)."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from sluice.api.deps import ActorDep, PlatformDep, ReadSessionDep, SessionDep
from sluice.gateway import service
from sluice.gateway.querying import query
from sluice.gateway.receipts import ALGORITHM
from sluice.gateway.schemas import GrantCreate, GrantPublic, QueryRequest, QueryResult

router = APIRouter(prefix="/api/v1", tags=["gateway"])


@router.post("/query", response_model=QueryResult, summary="A governed SQL query over resources you may use")
async def run_query(platform: PlatformDep, actor: ActorDep, request: QueryRequest) -> QueryResult:
    """One SELECT over resource codes (`FROM psb.residents`), under your grants: only granted fields, masked,
    of the rows your grant covers; the purpose must be your grant's. Every answer and every refusal is audited."""
    return await run_in_threadpool(query, platform, actor, request)


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
