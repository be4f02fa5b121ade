"""REST routes of the gateway: governed queries, and grants (recorded directly until issue 6)."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import iterate_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from sluice.api.deps import ActorDep, PlatformDep
from sluice.errors import Exhausted
from sluice.gateway.querying import MEDIA, Export, RowsPage, export, query, rows_page
from sluice.gateway.querying import download as download_resource
from sluice.gateway.receipts import ALGORITHM
from sluice.gateway.schemas import Delivery, QueryRequest, QueryResult
from sluice.signing import published_keys


def anonymous_allowed(request: Request, actor: ActorDep) -> None:
    """The public (no token) is rate-limited per client address; accounts are limited by their grants."""
    if actor.is_user or actor.is_system:
        return
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.anonymous_limiter.take(client)
    if wait is not None:
        raise Exhausted(
            f"too many requests without a token from {client}; try again in {int(wait) + 1} seconds, or sign in",
            retry_after=int(wait) + 1,
        )


async def _public_gate(request: Request, actor: ActorDep) -> None:
    """``anonymous_allowed`` as a route dependency, on the event loop (no worker thread for an in-memory check)."""
    anonymous_allowed(request, actor)


T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["gateway"])
PublicGate = Depends(_public_gate)


@router.post(
    "/query",
    response_model=QueryResult,
    summary="A governed SQL query over resources you may use",
    responses={200: {"content": {m: {} for m, _ in MEDIA.values()}}},
    dependencies=[PublicGate],
)
async def run_query(
    http: Request,
    platform: PlatformDep,
    actor: ActorDep,
    request: QueryRequest,
    *,
    format: Annotated[str, Query(description="json (default), csv, parquet or arrow (an Arrow IPC stream).")] = "json",
    bom: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM (for Excel).")] = False,
) -> Response:
    """One SELECT over resource codes (`FROM psb.residents`), under your grants: only granted fields, masked,
    of the rows your grant covers; the purpose must be your grant's. Every answer and every refusal is audited.
    For csv, parquet and arrow the body is the file and the signed receipt is in the `X-Sluice-Receipt` header
    (base64 of its JSON)."""
    if format == "json":
        return _json(await in_turn(http, query, platform, actor, request))
    made = await in_turn(http, lambda: export(platform, actor, request, fmt=format, delivery=Delivery.QUERY, bom=bom))
    return file_response(made)


@router.get("/resources/{code}/download", summary="Download what you may see of a resource", dependencies=[PublicGate])
async def download(
    http: Request,
    platform: PlatformDep,
    actor: ActorDep,
    code: str,
    *,
    format: Annotated[str, Query(description="csv (default), parquet, arrow or json.")] = "csv",
    purpose: Annotated[str, Query(description="Your grant's purpose (any text for open data).")] = "open data",
    bom: Annotated[bool, Query(description="CSV only: start with a UTF-8 BOM (for Excel).")] = False,
    limit: Annotated[
        int | None,
        Query(ge=1, description="Most rows (default: all, up to the platform's export limit; see X-Sluice-Truncated)."),
    ] = None,
) -> Response:
    """The whole resource as your grant shows it (its fields, masked, its rows), by the download delivery
    mode of your grant: CSV, Parquet, an Arrow IPC stream, or JSON (an array of objects, one per row). The signed
    receipt is in the `X-Sluice-Receipt` header."""
    made = await in_turn(
        http, lambda: download_resource(platform, actor, code, fmt=format, purpose=purpose, bom=bom, limit=limit)
    )
    return file_response(made)


async def in_turn(http: Request, work: Callable[..., T], *args: Any) -> T:
    """Run governed work in a worker thread when one of the process's gateway slots is free (first come, first
    served): a bounded number at once keeps every caller's wait short instead of all of them slow."""
    slots: anyio.CapacityLimiter = http.app.state.gateway_slots
    return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=slots)


def _json(answer: BaseModel) -> Response:
    """An answer already built and checked by its model, serialised once (not validated a second time by the
    route's response model, which stays for the API's schema)."""
    return Response(answer.model_dump_json(), media_type="application/json")


def file_response(made: Export) -> Response:
    """The spooled file, streamed (and then discarded), its receipt and row count in headers."""
    receipt = base64.b64encode(made.receipt.model_dump_json().encode("utf-8")).decode("ascii")
    headers = {
        "X-Sluice-Receipt": receipt,
        "X-Sluice-Rows": str(made.rows),
        "X-Sluice-Truncated": "true" if made.truncated else "false",
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "Content-Length": str(made.size),
    }
    return StreamingResponse(iterate_in_threadpool(made.chunks()), media_type=made.media_type, headers=headers)


@router.get(
    "/resources/{code}/rows",
    response_model=RowsPage,
    summary="Rows with Datasette-style filters",
    dependencies=[PublicGate],
)
async def list_rows(request: Request, platform: PlatformDep, actor: ActorDep, code: str) -> Response:
    """`?field__exact=v` (also `__not`, `__in=a,b`, `__gt`, `__gte`, `__lt`, `__lte`, `__contains`,
    `__startswith`, `__isnull=1`), `_sort=field` or `_sort=-field`, `_size` (≤ 1000), `_next` (from the
    previous page), `purpose` (your grant's). The same governed path as POST /api/v1/query."""
    params = dict(request.query_params)
    return _json(await in_turn(request, lambda: rows_page(platform, actor, code, params)))


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key_pem: str
    retired_at: datetime | None = Field(description="When it stopped signing (null: the key signing now).")


@router.get("/keys", response_model=list[PublicKey], summary="The platform's public signing keys")
def list_keys(platform: PlatformDep) -> list[PublicKey]:
    """What receipts, contracts (and, later, tree heads) are verified with: the key signing now, then the retired
    ones (a signature names its key by ``key_id``)."""
    return [
        PublicKey(key_id=k.key_id, algorithm=ALGORITHM, public_key_pem=k.public_key_pem, retired_at=k.retired_at)
        for k in published_keys(platform.signer, platform.settings.keys_dir)
    ]
