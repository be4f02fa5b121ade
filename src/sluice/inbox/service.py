"""Use cases of the inbox: what needs my attention, and marking it read; the webhooks that carry an
organisation's notices to its own systems, and their delivery log."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Invalid, NotFound
from sluice.identity.actor import Actor
from sluice.identity.models import Organisation
from sluice.identity.permissions import signed_in
from sluice.identity.queries import find_organisation
from sluice.inbox import permissions as can
from sluice.inbox.models import DeliveryStatus, Notice, Webhook, WebhookDelivery
from sluice.inbox.post import enqueue
from sluice.inbox.schemas import DeliveryPublic, NewWebhook, WebhookCreate, WebhookPublic
from sluice.inbox.webhooks import new_secret
from sluice.pagination import Page, check_limit, decode_cursor, keyset_page
from sluice.usecase import use_case

URL_MAX_CHARS = 500
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
KIND_MAX_CHARS = 64
KINDS_MAX = 50
TEST_KIND = "webhook.test"


class NoticePublic(BaseModel):
    id: int
    kind: str
    target: str
    message: str
    detail: dict[str, object]
    created_at: datetime
    read_at: datetime | None
    read_by: str | None


def _mine(actor: Actor) -> ColumnElement[bool]:
    roles = [role.value for role in actor.roles]
    clauses: list[ColumnElement[bool]] = [Notice.role.in_(roles)] if roles else []
    if actor.org_id is not None:
        clauses.append(Notice.org_id == actor.org_id)
    return or_(*clauses) if clauses else false()


@use_case(signed_in)
def list_notices(session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100) -> list[NoticePublic]:
    """Notices for the caller's organisation and for its roles, newest first."""
    query = select(Notice).where(_mine(actor)).order_by(Notice.id.desc()).limit(limit)
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return [_public(n) for n in session.scalars(query)]


@use_case(signed_in)
def mark_read(session: Session, actor: Actor, *, notice_id: int) -> NoticePublic:
    notice = session.scalars(select(Notice).where(Notice.id == notice_id, _mine(actor))).one_or_none()
    if notice is None:
        raise NotFound(f"no notice {notice_id} for you", notice=notice_id)
    if notice.read_at is None:
        notice.read_at, notice.read_by = now(session), actor.username
    return _public(notice)


def _public(notice: Notice) -> NoticePublic:
    return NoticePublic(
        id=notice.id,
        kind=notice.kind,
        target=notice.target,
        message=notice.message,
        detail=json.loads(notice.detail_json),
        created_at=notice.created_at,
        read_at=notice.read_at,
        read_by=notice.read_by,
    )


# --- webhooks ------------------------------------------------------------------------------------------


@use_case(can.can_register_webhook)
def register_webhook(session: Session, actor: Actor, *, data: WebhookCreate, org_code: str | None = None) -> NewWebhook:
    """Register an endpoint of your organisation for its notices (all kinds, or those listed in ``kinds``).

    Every delivery is signed with the secret in the answer: it is shown this once, so keep it now.
    """
    org = _organisation(session, actor, org_code)
    url, kinds = _checked_url(data.url), _checked_kinds(data.kinds)
    allowed = settings_of(session).webhook_hosts
    if allowed and urlsplit(url).hostname not in allowed:
        raise Invalid(
            f"the operator allows webhooks only to {', '.join(allowed)}; not {urlsplit(url).hostname}", field="url"
        )
    _refuse_duplicate(session, org, url)
    webhook = Webhook(
        org_id=org.id,
        url=url,
        secret=new_secret(),
        kinds_json=json.dumps(kinds),
        created_by=actor.username,
        created_at=now(session),
    )
    session.add(webhook)
    session.flush()
    record(session, actor, "webhook.register", f"webhook:{webhook.id}", organisation=org.code, url=url, kinds=kinds)
    return NewWebhook(**_webhook_public(webhook, org.code).model_dump(), secret=webhook.secret)


@use_case(can.can_list_webhooks)
def list_webhooks(session: Session, actor: Actor, *, org_code: str | None = None) -> list[WebhookPublic]:
    """Webhooks (never their secrets), oldest first: your organisation's, or — for the operator and the
    auditor — every organisation's unless ``org_code`` names one."""
    query = select(Webhook, Organisation.code).join(Organisation, Organisation.id == Webhook.org_id)
    if org_code is None and actor.org_id is not None and not actor.roles & can.READERS:
        query = query.where(Webhook.org_id == actor.org_id)
    elif org_code is not None:
        query = query.where(Webhook.org_id == find_organisation(session, org_code).id)
    rows = session.execute(query.order_by(Webhook.id))
    return [_webhook_public(webhook, code) for webhook, code in rows]


@use_case(can.can_disable_webhook)
def disable_webhook(session: Session, actor: Actor, *, webhook_id: int) -> WebhookPublic:
    """Stop a webhook: nothing more is queued for it, and what still waits is marked failed. Kept in the log."""
    webhook = _find_webhook(session, webhook_id)
    if webhook.disabled_at is None:
        webhook.disabled_at = now(session)
        cancelled = _fail_pending(session, webhook)
        record(session, actor, "webhook.disable", f"webhook:{webhook.id}", cancelled_deliveries=cancelled)
    return _webhook_public(webhook, _org_code(session, webhook))


@use_case(can.can_list_deliveries)
def list_deliveries(
    session: Session, actor: Actor, *, webhook_id: int, cursor: str | None = None, limit: int = 50
) -> Page[DeliveryPublic]:
    """A webhook's deliveries, newest first: status, attempts, and how the last attempt went."""
    check_limit(limit, settings_of(session).page_size_max)
    webhook = _find_webhook(session, webhook_id)
    query = (
        select(WebhookDelivery, Notice.kind)
        .join(Notice, Notice.id == WebhookDelivery.notice_id)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit + 1)
    )
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(session.execute(query))
    kinds = {delivery.id: kind for delivery, kind in rows}
    return keyset_page([delivery for delivery, _ in rows], limit, lambda d: _delivery_public(d, kinds[d.id]))


@use_case(can.can_send_test)
def send_test(session: Session, actor: Actor, *, webhook_id: int) -> DeliveryPublic:
    """Queue a ``webhook.test`` notice for this webhook alone (whatever kinds it takes), due at once.

    The notice is kept in the organisation's inbox, already read, as a record of the test.
    """
    webhook = _find_webhook(session, webhook_id)
    if webhook.disabled_at is not None:
        raise Conflict(
            f"webhook {webhook_id} is disabled; register the address again to send to it", webhook_id=webhook_id
        )
    at = now(session)
    notice = Notice(
        org_id=webhook.org_id,
        kind=TEST_KIND,
        target=f"webhook:{webhook.id}",
        message=f"A test from Sluice: webhook {webhook.id} receives and can verify our notices.",
        detail_json=json.dumps({"webhook_id": webhook.id, "requested_by": actor.username}),
        created_at=at,
        read_at=at,
        read_by=actor.username,
    )
    session.add(notice)
    delivery = enqueue(session, webhook, notice)
    session.flush()
    record(session, actor, "webhook.test", f"webhook:{webhook.id}", delivery_id=delivery.id)
    return _delivery_public(delivery, TEST_KIND)


def _organisation(session: Session, actor: Actor, org_code: str | None) -> Organisation:
    code = org_code or actor.org_code
    if code is None:
        raise Invalid("name the organisation the webhook is for (org_code)", field="org_code")
    return find_organisation(session, code)


def _checked_url(url: str) -> str:
    url = url.strip()
    if len(url) > URL_MAX_CHARS:
        raise Invalid(
            f"the webhook URL is {len(url)} characters long; at most {URL_MAX_CHARS} are allowed", field="url"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise Invalid(
            f"the webhook URL must be an http:// or https:// address with a host, such as "
            f"https://example.gov.cn/hooks/sluice, not {url!r}",
            field="url",
        )
    if "@" in parts.netloc:
        raise Invalid(
            "the webhook URL must not hold a user name or password (user:password@host): they would be stored "
            "and shown in clear. Check each delivery's X-Sluice-Signature instead.",
            field="url",
        )
    if parts.fragment:
        raise Invalid("the webhook URL must not have a #fragment (it is never sent); remove it", field="url")
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        raise Invalid(f"the port in the webhook URL {url!r} is not a number from 0 to 65535", field="url") from None
    return url


def _checked_kinds(kinds: list[str]) -> list[str]:
    chosen = sorted({kind.strip() for kind in kinds})
    if len(chosen) > KINDS_MAX:
        raise Invalid(f"at most {KINDS_MAX} notice kinds; leave the list empty to send every kind", field="kinds")
    for kind in chosen:
        if len(kind) > KIND_MAX_CHARS or not KIND_PATTERN.fullmatch(kind):
            raise Invalid(
                f"{kind!r} is not a notice kind: kinds are lower-case words joined by dots, such as version.held",
                field="kinds",
                value=kind,
            )
    return chosen


def _refuse_duplicate(session: Session, org: Organisation, url: str) -> None:
    same = select(Webhook.id).where(Webhook.org_id == org.id, Webhook.url == url, Webhook.disabled_at.is_(None))
    existing = session.scalars(same).first()
    if existing is not None:
        raise Conflict(
            f"{org.code} already has webhook {existing} for {url}; disable it first to register the address again "
            "(for instance to get a new secret)",
            webhook_id=existing,
        )


def _find_webhook(session: Session, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id}", webhook_id=webhook_id)
    return webhook


def _fail_pending(session: Session, webhook: Webhook) -> int:
    pending = select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status == DeliveryStatus.PENDING.value
    )
    cancelled = list(session.scalars(pending))
    for delivery in cancelled:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.last_error = "the webhook was disabled before this was delivered"
    return len(cancelled)


def _org_code(session: Session, webhook: Webhook) -> str:
    return session.scalars(select(Organisation.code).where(Organisation.id == webhook.org_id)).one()


def _webhook_public(webhook: Webhook, org_code: str) -> WebhookPublic:
    return WebhookPublic(
        id=webhook.id,
        organisation=org_code,
        url=webhook.url,
        kinds=json.loads(webhook.kinds_json),
        created_by=webhook.created_by,
        created_at=webhook.created_at,
        disabled_at=webhook.disabled_at,
    )


def _delivery_public(delivery: WebhookDelivery, kind: str) -> DeliveryPublic:
    pending = delivery.status == DeliveryStatus.PENDING
    return DeliveryPublic(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        notice_id=delivery.notice_id,
        kind=kind,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )
