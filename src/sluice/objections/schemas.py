"""What the objection use cases take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from sluice.sharing.schemas import Deadline, EventPublic


class ObjectionCreate(BaseModel):
    resource: str
    record: dict[str, Any] = Field(description="The record's primary key: {field: value} for every key field.")
    field: str = Field(description="The field believed wrong.")
    claimed_value: str | None = Field(default=None, max_length=2000, description="The value believed right.")
    evidence: str = Field(min_length=5, max_length=4000, description="Why: a document, a case number, a source.")


class ObjectionAnswer(BaseModel):
    reason: str = Field(default="", max_length=2000, description="Required to reject.")
    version: int | None = Field(default=None, ge=1, description="The version that corrects it (to mark corrected).")


class ObjectionPublic(BaseModel):
    id: int
    resource: str
    provider_org: str
    objector_org: str
    raised_by: str
    record: dict[str, Any]
    field: str
    claimed_value: str | None
    evidence: str
    version_seen: int | None
    status: str
    deadline: Deadline
    escalated_at: datetime | None
    answered_by: str | None
    answered_at: datetime | None
    reason: str | None
    fixed_in_version: int | None
    created_at: datetime
    history: list[EventPublic] = Field(default_factory=list)


class ObjectionRate(BaseModel):
    """Objections per resource or per providing organisation (for the quality work)."""

    key: str = Field(description="Resource code or organisation code.")
    deliveries: int = Field(description="Governed answers given from it (the use count).")
    objections: int
    open: int
    overdue: int
    accepted: int
    corrected: int
    rejected: int
    per_thousand_deliveries: float | None
