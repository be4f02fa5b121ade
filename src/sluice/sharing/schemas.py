"""What the sharing use cases take and return."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from sluice.clock import UtcMoment
from sluice.gateway.receipts import Receipt
from sluice.gateway.schemas import Delivery, MaskSpec

MAX_ITEMS = 20


class ApplicationItem(BaseModel):
    resource: str = Field(description="Code of the resource asked for.")
    fields: list[str] = Field(min_length=1, max_length=500, description="The fields needed, no more.")
    row_filter: str | None = Field(
        default=None,
        max_length=2000,
        description="The rows needed, as a condition the provider can read, e.g. division_code LIKE '110105%'.",
    )
    unmasked: list[str] = Field(
        default_factory=list,
        description="Sensitive fields needed in clear (they are masked otherwise); the purpose must require it.",
    )


class ApplicationCreate(BaseModel):
    items: list[ApplicationItem] = Field(min_length=1, max_length=MAX_ITEMS)
    purpose: str = Field(min_length=2, max_length=500, description="What the data will be used for (用途).")
    legal_basis: str = Field(min_length=2, max_length=1000, description="The law or duty that requires it.")
    valid_from: UtcMoment | None = Field(default=None, description="Start of the period asked for (default: now).")
    valid_until: UtcMoment = Field(description="End of the period asked for (with its time zone, e.g. …Z).")
    quota: int | None = Field(default=None, ge=1, description="Calls over the grant's life (none: no limit).")
    delivery: list[Delivery] = Field(default_factory=lambda: [Delivery.QUERY], min_length=1)

    @field_validator("purpose", "legal_basis")
    @classmethod
    def _words(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 2:
            raise ValueError("must say something (at least two characters)")
        return value


class Resubmission(BaseModel):
    """The applicant's changes after the provider asked for them; what is left out stays as it was."""

    fields: list[str] | None = Field(default=None, min_length=1)
    row_filter: str | None = Field(default=None, max_length=2000)
    unmasked: list[str] | None = None
    purpose: str | None = Field(default=None, min_length=2, max_length=500)
    legal_basis: str | None = Field(default=None, min_length=2, max_length=1000)
    valid_from: UtcMoment | None = None
    valid_until: UtcMoment | None = None
    quota: int | None = Field(default=None, ge=1)
    delivery: list[Delivery] | None = Field(default=None, min_length=1)
    comment: str = Field(default="", max_length=2000)


class Obligations(BaseModel):
    no_onward_sharing: Literal[True] = Field(
        default=True, description="The data may not be passed on (always true: shared data is never passed on)."
    )
    delete_after_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days after the grant ends by which copies must be deleted."
    )


class Approval(BaseModel):
    """The provider's approval. Anything left out is granted as asked; anything given may only narrow it."""

    fields: list[str] | None = Field(default=None, min_length=1, description="A subset of the fields asked for.")
    row_filter: str | None = Field(
        default=None, max_length=2000, description="An extra condition, added to the applicant's own (AND)."
    )
    masks: dict[str, MaskSpec] | None = Field(
        default=None, description="Masks per field (default: sensitive fields masked unless asked for in clear)."
    )
    valid_from: UtcMoment | None = None
    valid_until: UtcMoment | None = None
    quota: int | None = Field(default=None, ge=1)
    delivery: list[Delivery] | None = Field(default=None, min_length=1)
    obligations: Obligations = Field(default_factory=Obligations)
    comment: str = Field(default="", max_length=2000)


class Answer(BaseModel):
    """A reason (required to refuse, ask for changes, suspend or revoke) or a comment."""

    reason: str = Field(default="", max_length=2000)


class Terms(BaseModel):
    """What a grant will allow: an application's request, or its approval."""

    fields: list[str]
    masks: dict[str, MaskSpec]
    row_filter: str | None
    valid_from: datetime
    valid_until: datetime
    quota: int | None
    delivery: list[Delivery]
    obligations: Obligations


class EventPublic(BaseModel):
    at: datetime
    actor: str
    party: str
    action: str
    from_status: str | None
    to_status: str
    reason: str | None


class Deadline(BaseModel):
    at: datetime = Field(description="The end of the last working day (China time).")
    day: date = Field(description="The last working day, China time.")
    exact: bool = Field(description="False when a year had no official calendar and Monday–Friday was counted.")
    working_days_left: int
    overdue: bool
    note: str | None = None


class ApplicationPublic(BaseModel):
    id: int
    batch: str
    resource: str
    resource_title: str
    grade: str
    applicant_org: str
    provider_org: str
    applicant: str
    fields: list[str]
    row_filter: str | None
    unmasked: list[str]
    purpose: str
    legal_basis: str
    valid_from: datetime
    valid_until: datetime
    quota: int | None
    delivery: list[Delivery]
    status: str
    round: int
    deadline: Deadline
    escalated_at: datetime | None
    terms: Terms | None = Field(description="What the provider approved (null until then).")
    narrowed: bool
    answered_by: str | None
    answered_at: datetime | None
    reason: str | None
    countersigned_by: str | None
    countersigned_at: datetime | None
    grant: int | None
    created_at: datetime
    history: list[EventPublic] = Field(default_factory=list)


class ContractSignature(BaseModel):
    party: str
    organisation: str | None
    account: str
    at: datetime
    receipt: Receipt = Field(description="Ed25519 over canonical JSON of the body; verify with GET /api/v1/keys.")


class Contract(BaseModel):
    """A grant as a contract (协议): its terms, their digest, and each party's signed acceptance."""

    grant: int
    terms: dict[str, Any]
    terms_digest: str = Field(description="SHA-256 of canonical_json(terms).")
    signatures: list[ContractSignature]
    status: str
