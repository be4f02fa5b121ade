"""What the gateway's use cases take and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from sluice.clock import UtcMoment
from sluice.gateway.masks import MaskKind
from sluice.gateway.receipts import Receipt

JSON_DEFAULT_ROWS = 1000
JSON_MAX_ROWS = 100_000


class Delivery(StrEnum):
    QUERY = "query"
    DOWNLOAD = "download"
    SUBSCRIPTION = "subscription"


class MaskSpec(BaseModel):
    kind: MaskKind
    width: float | None = Field(default=None, gt=0, description="For NUMBER_RANGE: the width of a range.")


class GrantCreate(BaseModel):
    resource: str = Field(description="Resource code.")
    assignee: str = Field(description="Code of the organisation that may use it.")
    fields: list[str] = Field(min_length=1, description="Fields it may read.")
    masks: dict[str, MaskSpec] = Field(default_factory=dict)
    row_filter: str | None = Field(default=None, max_length=2000, description="SQL condition over the fields.")
    purpose: str = Field(min_length=2, max_length=500)
    valid_from: UtcMoment
    valid_until: UtcMoment
    quota: int | None = Field(default=None, ge=1, description="Calls allowed over the grant's life.")
    delivery: list[Delivery] = Field(default_factory=lambda: [Delivery.QUERY])
    legal_basis: str = Field(default="", max_length=1000)
    delete_after_days: int | None = Field(default=None, ge=1, le=3650)


class GrantPublic(BaseModel):
    id: int
    resource: str
    assigner: str
    assignee: str
    application: int | None = Field(description="The application it answers (null: standing or recorded at the shell).")
    standing: bool = Field(description="Issued by the platform on first use of an unconditional resource.")
    fields: list[str]
    masks: dict[str, MaskSpec]
    row_filter: str | None
    purpose: str
    valid_from: datetime
    valid_until: datetime
    quota: int | None
    calls_used: int
    calls_left: int | None = Field(description="Calls left of the quota (null: no quota).")
    delivery: list[Delivery]
    legal_basis: str
    obligations: dict[str, Any]
    terms_digest: str = Field(description="SHA-256 of the contract's terms: see GET /api/v1/grants/{id}/contract.")
    status: str
    status_reason: str | None


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000, description="One SELECT; tables are resource codes.")
    purpose: str = Field(min_length=2, max_length=500, description="Must match the purpose of your grant.")
    limit: int | None = Field(
        default=None,
        ge=1,
        description=f"Most rows to return (the rest is cut, and the answer says so): for JSON {JSON_DEFAULT_ROWS} unless "
        f"given, at most {JSON_MAX_ROWS}; for files, everything up to the platform's export limit unless given.",
    )


class QueryResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    grants: list[int] = Field(description="The grants the answer was given under (empty for open data).")
    query_digest: str = Field(description="SHA-256 of the normalised query as sent.")
    result_digest: str = Field(description="SHA-256 of the rows as returned (canonical JSON).")
    audit_event: int
    receipt: Receipt = Field(description="Signed by the platform: verify with GET /api/v1/keys.")
