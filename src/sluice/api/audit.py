"""REST routes of the audit log (RFC 9162): tree heads, entries, inclusion and consistency proofs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sluice.api.deps import ActorDep, PlatformDep, ReadSessionDep, SessionDep
from sluice.audit import service
from sluice.audit.schemas import ConsistencyProof, EntriesPage, InclusionProof, TreeHead
from sluice.clock import UtcMoment

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/tree-head", response_model=TreeHead, summary="The newest signed tree head")
def latest_tree_head(session: ReadSessionDep, actor: ActorDep) -> TreeHead:
    return service.latest_tree_head(session, actor)


@router.post("/tree-head", response_model=TreeHead, summary="Sign a tree head now (auditor, operator)")
def new_tree_head(session: SessionDep, actor: ActorDep) -> TreeHead:
    return service.new_tree_head(session, actor)


@router.post(
    "/verify", response_model=service.Verification, summary="Recompute and check the whole log (auditor, operator)"
)
def verify_log(session: SessionDep, actor: ActorDep, platform: PlatformDep) -> service.Verification:
    """Every entry rehashed, every signed tree head's signature and root checked, each entry against its stored
    leaf — as the offline verifier does; the first bad index and what is wrong when something is."""
    return service.verify_log(session, actor, keys_dir=platform.settings.keys_dir, signer=platform.signer)


@router.get("/entries", response_model=EntriesPage, summary="Entries in index order (auditor)")
def list_entries(
    session: ReadSessionDep,
    actor: ActorDep,
    start: int = 0,
    end: int | None = None,
    limit: Annotated[int, Query(description="Entries per page, 1 to SLUICE_PAGE_SIZE_MAX.")] = 100,
) -> EntriesPage:
    return service.list_entries(session, actor, start=start, end=end, limit=limit)


@router.get("/proof/inclusion", response_model=InclusionProof, summary="The audit path of one entry")
def inclusion_proof(
    session: ReadSessionDep,
    actor: ActorDep,
    index: int | None = None,
    event: Annotated[int | None, Query(description="The audit event a receipt names (instead of index).")] = None,
    tree_size: Annotated[int | None, Query(description="A signed tree head's size (default: the newest).")] = None,
) -> InclusionProof:
    return service.inclusion_proof(session, actor, index=index, event=event, tree_size_=tree_size)


@router.get("/proof/consistency", response_model=ConsistencyProof, summary="That one signed tree extends another")
def consistency_proof(session: ReadSessionDep, actor: ActorDep, first: int, second: int) -> ConsistencyProof:
    return service.consistency_proof(session, actor, first=first, second=second)


@router.get("/access", response_model=service.AccessReport, summary="Flows, denied attempts, unusual volumes (auditor)")
def access_report(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    start: UtcMoment,
    end: UtcMoment,
    resource: str | None = None,
    organisation: str | None = None,
) -> service.AccessReport:
    return service.access_report(session, actor, start=start, end=end, resource=resource, organisation=organisation)
