"""Posting a notice, inside the transaction of the change it is about; and queueing it for the webhooks of
the organisation it is for, in that same transaction (so a notice and its deliveries exist together or not)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.db.session import now
from sluice.identity.roles import Role
from sluice.inbox.models import DeliveryStatus, Notice, Webhook, WebhookDelivery


def notify(
    session: Session,
    *,
    kind: str,
    target: str,
    message: str,
    org_id: int | None = None,
    role: Role | None = None,
    detail: dict[str, Any] | None = None,
) -> Notice:
    """Tell an organisation's accounts (``org_id``) or every holder of a platform role (``role``).

    A notice for an organisation is also queued for each of its active webhooks that takes this kind.
    """
    if (org_id is None) == (role is None):
        raise ValueError("a notice goes to an organisation or to a role")
    notice = Notice(
        org_id=org_id,
        role=role.value if role else None,
        kind=kind,
        target=target,
        message=message,
        detail_json=json.dumps(detail or {}, ensure_ascii=False, default=str),
        created_at=now(session),
    )
    session.add(notice)
    if org_id is not None:
        for webhook in subscribed_webhooks(session, org_id, kind):
            enqueue(session, webhook, notice)
    return notice


def subscribed_webhooks(session: Session, org_id: int, kind: str) -> list[Webhook]:
    """The organisation's active webhooks that take notices of ``kind``."""
    active = select(Webhook).where(Webhook.org_id == org_id, Webhook.disabled_at.is_(None)).order_by(Webhook.id)
    return [w for w in session.scalars(active) if takes(w, kind)]


def takes(webhook: Webhook, kind: str) -> bool:
    kinds: list[str] = json.loads(webhook.kinds_json)
    return not kinds or kind in kinds


def enqueue(session: Session, webhook: Webhook, notice: Notice) -> WebhookDelivery:
    """A pending delivery of ``notice`` to ``webhook``, due at once."""
    at = now(session)
    delivery = WebhookDelivery(
        webhook=webhook,
        notice=notice,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(delivery)
    return delivery
