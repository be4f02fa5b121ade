"""What the lake's use cases take and return: ingestion options, validation reports, profiles, versions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Mode(StrEnum):
    REPLACE = "replace"  # the file is the whole new version
    APPEND = "append"  # previous rows + the file's rows (a key already present is an error)
    UPSERT = "upsert"  # previous rows, with the file's rows replacing those of the same key


class OnError(StrEnum):
    REJECT = "reject"  # any invalid row rejects the whole version
    QUARANTINE = "quarantine"  # invalid rows are kept apart (reported, never served), the rest is published


class SourceFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    XLSX = "xlsx"
    JSON = "json"  # an array of objects
    NDJSON = "ndjson"  # one object per line
    PARQUET = "parquet"


class VersionStatus(StrEnum):
    PROCESSING = "processing"  # being ingested; never served
    HELD = "held"  # written, waiting for a decision on flagged personal data
    PUBLISHED = "published"  # served (the newest published one) or kept for the retention period
    REJECTED = "rejected"  # the data broke the rules; nothing served
    FAILED = "failed"  # the ingestion could not finish (bad file, crash, disk full); nothing served
    EXPIRED = "expired"  # superseded and past its retention: files removed, record kept
    DELETED = "deleted"  # removed by two people's decision (dual control): files removed, record kept


class IngestOptions(BaseModel):
    mode: Mode = Mode.REPLACE
    on_error: OnError = OnError.REJECT
    format: SourceFormat | None = Field(default=None, description="Default: from the file name and its content.")
    encoding: str | None = Field(
        default=None, description="Text encoding; default: detected (UTF-8 with or without BOM, GB18030/GBK, UTF-16)."
    )
    mapping: dict[str, str | None] = Field(
        default_factory=dict,
        description="File column → field name; null drops the column. Columns named like a field's name or "
        "title (zh/en) need no mapping.",
    )
    sheet: str | None = Field(default=None, description="Workbook sheet to read (xlsx); default: the first.")


class Example(BaseModel):
    row: int = Field(description="Record number in the file, counting from 1 (the header is not a record).")
    line: int | None = Field(default=None, description="Line of the file where the record starts (text formats).")
    value: str | None = Field(description="The offending value (masked for personal fields).")


class RuleResult(BaseModel):
    rule: str = Field(description="type | required | element | unique | parse")
    field: str | None
    message: str
    count: int
    examples: list[Example]


class ValidationReport(BaseModel):
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rules: list[RuleResult]
    encoding: str | None = None
    format: str
    columns: dict[str, str | None] = Field(description="File column → field it was read as (null: dropped).")

    @property
    def clean(self) -> bool:
        return not self.rules


class PiiFlag(BaseModel):
    field: str
    kind: str = Field(description="resident_id | mobile | bank_card | credit_code | name | address")
    share: float = Field(description="Share of the sampled non-null values that look like it.")
    declared: str = Field(description="The sensitivity the catalog gives the field.")
    decision: str | None = Field(default=None, description="accepted | dismissed, once decided.")
    decided_by: str | None = None
    reason: str | None = None


class PiiDecision(BaseModel):
    field: str
    decision: str = Field(pattern="^(accept|dismiss)$", description="`accept` (it is personal) or `dismiss`.")
    reason: str = Field(default="", max_length=1000, description="Why it was dismissed (required to dismiss).")


class Histogram(BaseModel):
    kind: str = Field(description="length (of text) | value (equal-width bins) | year (of dates)")
    edges: list[Any]
    counts: list[int]


class ColumnProfile(BaseModel):
    field: str
    type: str
    nulls: int
    distinct: int = Field(description="Estimate (HyperLogLog).")
    min: Any = None
    max: Any = None
    top: list[tuple[str, int]] = Field(default_factory=list, description="Most frequent values (not for personal).")
    histogram: Histogram | None = None


class Profile(BaseModel):
    rows: int
    columns: list[ColumnProfile]


class VersionPublic(BaseModel):
    resource: str
    number: int
    status: VersionStatus
    mode: Mode
    on_error: OnError
    source_name: str
    rows: int | None
    byte_size: int | None
    digest: str | None = Field(description="sha256 of the version's Parquet file.")
    schema_: list[dict[str, str]] | None = Field(alias="schema", serialization_alias="schema")
    report: ValidationReport | None
    profile: Profile | None
    pii: list[PiiFlag]
    base_version: int | None
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    published_at: datetime | None
    superseded_at: datetime | None
    serving: bool = Field(description="True for the version the gateway serves now.")

    model_config = {"populate_by_name": True}


class IngestionJob(BaseModel):
    """One ingestion as the operator sees it: what ran, how it ended, how long it took; none of the data (no
    report examples, no profile, no flags)."""

    id: int
    resource: str
    number: int
    status: VersionStatus
    mode: Mode
    source_name: str
    rows: int | None
    rows_rejected: int | None = Field(description="Records refused or quarantined by validation.")
    byte_size: int | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    error: str | None
