"""REST routes of the lake: upload a version, read versions and their reports, decide flagged personal data."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from sluice.api.deps import ActorDep, Cursor, Limit, PlatformDep, ReadSessionDep, RowId, SessionDep
from sluice.api.uploads import receive_upload
from sluice.errors import Invalid
from sluice.lake import permissions, service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestionJob, IngestOptions, PiiDecision, VersionPublic, VersionStatus
from sluice.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["lake"])
OPTION_FIELDS = ("mode", "on_error", "format", "encoding", "sheet")


@router.post(
    "/resources/{code}/versions",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a new version (multipart: file, and optional mode, on_error, format, encoding, sheet, mapping)",
)
async def upload_version(request: Request, code: str, platform: PlatformDep, actor: ActorDep) -> VersionPublic:
    """Streamed to disk as it arrives; validated, classified and written as a new version. The answer is the
    version: ``published``, ``held`` (flagged personal data awaits a decision) or ``rejected`` (see its
    report). A file that cannot be read at all is refused with 422 and recorded as a failed version."""
    with platform.reading() as session:  # refuse before reading a byte of the body
        permissions.can_ingest(session, actor, code=code)
    upload = await receive_upload(
        request, platform.settings.staging_dir / "uploads", platform.settings.upload_max_bytes
    )
    try:
        options = options_from_fields(upload.fields)
        return await run_in_threadpool(
            ingest, platform, actor, code=code, source=upload.path, source_name=upload.filename, options=options
        )
    finally:
        upload.path.unlink(missing_ok=True)


def options_from_fields(fields: dict[str, str]) -> IngestOptions:
    """An upload's options from its form fields (the API's and the portal's)."""
    values: dict[str, object] = {k: v for k, v in fields.items() if k in OPTION_FIELDS and v != ""}
    if fields.get("mapping"):
        try:
            values["mapping"] = json.loads(fields["mapping"])
        except json.JSONDecodeError as exc:
            raise Invalid(
                f"mapping must be a JSON object of file column → field name: {exc}", field="mapping"
            ) from None
    try:
        return IngestOptions.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"{where}: {first['msg']}", field=where) from None


@router.get("/resources/{code}/versions", response_model=list[VersionPublic], summary="A resource's versions")
def list_versions(session: ReadSessionDep, actor: ActorDep, code: str) -> list[VersionPublic]:
    return service.list_versions(session, actor, code=code)


@router.get("/resources/{code}/versions/{number}", response_model=VersionPublic, summary="One version, with its report")
def get_version(session: ReadSessionDep, actor: ActorDep, code: str, number: RowId) -> VersionPublic:
    return service.get_version(session, actor, code=code, number=number)


@router.post(
    "/resources/{code}/versions/{number}/pii",
    response_model=VersionPublic,
    summary="Accept or dismiss flagged personal data; the version is published when every flag is decided",
)
def decide_pii(
    session: SessionDep, actor: ActorDep, code: str, number: RowId, decisions: list[PiiDecision]
) -> VersionPublic:
    return service.decide_pii(session, actor, code=code, number=number, decisions=decisions)


@router.get("/versions/held", response_model=list[VersionPublic], summary="Versions held for a decision")
def list_held(session: ReadSessionDep, actor: ActorDep) -> list[VersionPublic]:
    return service.list_held(session, actor)


@router.get("/ingestions", response_model=Page[IngestionJob], summary="Ingestion jobs, newest first (operator)")
def list_ingestions(
    session: ReadSessionDep,
    actor: ActorDep,
    status: VersionStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[IngestionJob]:
    """Every department's ingestions with how each ended (`processing`, `published`, `held`, `rejected`,
    `failed`, …), who ran it and when; none of the data. For the operator, the manager and the auditor."""
    return service.list_ingestions(session, actor, status=status, limit=limit, cursor=cursor)
