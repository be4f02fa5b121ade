"""What the webhook use cases take and give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sluice.inbox.models import DeliveryStatus


class WebhookCreate(BaseModel):
    url: str = Field(
        description="Where notices are POSTed: an http(s) address of at most 500 characters, without user:password.",
        examples=["https://data.psb.example.gov.cn/hooks/sluice"],
    )
    kinds: list[str] = Field(
        default_factory=list,
        description="Notice kinds to send, e.g. version.held; leave empty to send every kind.",
    )


class WebhookPublic(BaseModel):
    id: int
    organisation: str
    url: str
    kinds: list[str] = Field(description="Notice kinds sent; empty means every kind.")
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


class NewWebhook(WebhookPublic):
    secret: str = Field(
        description="The HMAC-SHA256 key that signs every delivery (X-Sluice-Signature). Shown once: keep it now."
    )


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: int
    notice_id: int
    kind: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried next; none once delivered or failed.")
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
