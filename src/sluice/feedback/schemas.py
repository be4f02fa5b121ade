"""What the feedback use cases take and return."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class FeedbackKind(StrEnum):
    ERROR = "error"  # a value in the data looks wrong
    QUESTION = "question"
    SUGGESTION = "suggestion"


class FeedbackStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class FeedbackCreate(BaseModel):
    kind: FeedbackKind = FeedbackKind.ERROR
    message: str = Field(min_length=5, max_length=2000, description="What is wrong, or the question.")
    contact: str | None = Field(
        default=None, max_length=200, description="How to reach the sender (optional; seen by the provider only)."
    )


class FeedbackAnswer(BaseModel):
    answer: str = Field(min_length=2, max_length=2000)


class FeedbackReceipt(BaseModel):
    """What the sender is told: a reference number, nothing of anyone else's feedback."""

    id: int
    resource: str
    status: FeedbackStatus
    created_at: datetime


class FeedbackPublic(FeedbackReceipt):
    kind: FeedbackKind
    message: str
    contact: str | None
    given_by: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
