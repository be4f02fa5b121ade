"""REST routes of the inbox: notices for me, and the webhooks that carry my organisation's notices to its
own systems (signed; see `sluice.inbox.webhooks` for how a receiver checks a delivery)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sluice.api.deps import ActorDep, Cursor, Limit, ReadSessionDep, RowId, SessionDep
from sluice.inbox import service as inbox
from sluice.inbox.schemas import DeliveryPublic, NewWebhook, WebhookCreate, WebhookPublic
from sluice.inbox.service import NoticePublic
from sluice.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=list[NoticePublic], summary="Notices for me")
def list_notices(
    session: ReadSessionDep,
    actor: ActorDep,
    unread: Annotated[bool, Query(description="Only notices not yet read.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NoticePublic]:
    return inbox.list_notices(session, actor, unread_only=unread, limit=limit)


@router.post("/inbox/{notice_id}/read", response_model=NoticePublic, summary="Mark a notice read")
def mark_read(session: SessionDep, actor: ActorDep, notice_id: RowId) -> NoticePublic:
    return inbox.mark_read(session, actor, notice_id=notice_id)


@router.get("/webhooks", response_model=list[WebhookPublic], summary="List webhooks (never their secrets)")
def list_webhooks(
    session: ReadSessionDep,
    actor: ActorDep,
    org_code: Annotated[str | None, Query(alias="organisation")] = None,
) -> list[WebhookPublic]:
    return inbox.list_webhooks(session, actor, org_code=org_code)


@router.post(
    "/webhooks",
    response_model=NewWebhook,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook for my organisation's notices (the signing secret is shown once)",
)
def register_webhook(session: SessionDep, actor: ActorDep, body: WebhookCreate) -> NewWebhook:
    """Each notice is POSTed as JSON with `X-Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>." + body under the secret>`, `X-Sluice-Event` (the notice kind) and `X-Sluice-Delivery` (the same on
    every retry of one delivery). Answer 2xx within 5 s; otherwise it is retried after 30 s, 2 min, 10 min,
    1 h and 6 h, then marked failed."""
    return inbox.register_webhook(session, actor, data=body)


@router.delete("/webhooks/{webhook_id}", response_model=WebhookPublic, summary="Disable a webhook")
def disable_webhook(session: SessionDep, actor: ActorDep, webhook_id: RowId) -> WebhookPublic:
    return inbox.disable_webhook(session, actor, webhook_id=webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryPublic], summary="A webhook's deliveries")
def list_deliveries(
    session: ReadSessionDep, actor: ActorDep, webhook_id: RowId, cursor: Cursor = None, limit: Limit = 50
) -> Page[DeliveryPublic]:
    return inbox.list_deliveries(session, actor, webhook_id=webhook_id, cursor=cursor, limit=limit)


@router.post(
    "/webhooks/{webhook_id}/test",
    response_model=DeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a webhook.test notice to this webhook",
)
def send_test(session: SessionDep, actor: ActorDep, webhook_id: RowId) -> DeliveryPublic:
    return inbox.send_test(session, actor, webhook_id=webhook_id)
