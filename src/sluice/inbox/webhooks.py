"""Signed webhooks: each notice for an organisation is POSTed to the organisation's own systems.

The body is the canonical JSON of the notice; ``X-Sluice-Signature: t=<unix seconds>,v1=<hex>`` is an
HMAC-SHA256 of ``f"{t}." + body`` under the webhook's secret (the scheme Stripe uses), so a receiver can
tell the message is ours, unchanged and fresh (``verify_signature``).

Delivery happens in three steps so that no database transaction is open while a remote server is slow, and
two server processes never send the same delivery at the same time:

1. *claim* (one short transaction): due deliveries are locked (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
   SQLite has one writer) and leased by moving ``next_attempt_at`` past the time a batch can take;
2. *send* (no transaction): one POST each, 5 s timeout, redirects not followed; 2xx is success;
3. *record* (one short transaction): the outcome, and the next attempt by the back-off schedule — or
   ``failed`` after the last. A process that dies between 1 and 3 leaves the lease to run out, and the
   delivery is tried again (at least once; receivers deduplicate on ``X-Sluice-Delivery``).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, contains_eager, selectinload, sessionmaker

from sluice import __version__
from sluice.audit.log import canonical_json
from sluice.clock import Clock
from sluice.db.session import now
from sluice.identity.models import Organisation
from sluice.inbox.models import DeliveryStatus, Notice, Webhook, WebhookDelivery
from sluice.periodic import Periodic
from sluice.platform import Platform

log = logging.getLogger("sluice.webhooks")

BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1  # the first try and one after each wait
TIMEOUT_SECONDS = 5.0
# Longer than a whole batch can take (50 deliveries × a few timeouts each); a delivery whose lease is about
# to run out is left for the next round rather than sent late (see _send_all).
LEASE = timedelta(minutes=15)
LEASE_MARGIN = timedelta(minutes=1)
ERROR_MAX_CHARS = 500
SIGNATURE_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label that makes a leaked secret recognisable, not a secret

Source = Platform | sessionmaker[Session]


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, recognisable by its prefix (49 characters)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# --- signing -------------------------------------------------------------------------------------------


def notice_body(notice: Notice, org_code: str | None) -> bytes:
    """What a webhook receives: the notice as canonical JSON (sorted keys, no spaces, UTF-8)."""
    document = {
        "id": notice.id,
        "kind": notice.kind,
        "target": notice.target,
        "message": notice.message,
        "detail": json.loads(notice.detail_json),
        "created_at": notice.created_at.isoformat(),
        "organisation": org_code,
    }
    return canonical_json(document).encode("utf-8")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Sluice-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    now: datetime | float,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` (an ``X-Sluice-Signature`` value) signs ``body`` with ``secret``, within
    ``tolerance`` seconds of ``now`` (a datetime or unix seconds). For receivers; compares in constant time."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    timestamp, signatures = _parse_signature(header)
    if timestamp is None or not signatures:
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, raw)
    # Every candidate is compared (no early exit), so timing tells nothing about which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def _parse_signature(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


# --- one delivery over HTTP ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, with everything needed to send it without the database."""

    delivery_id: int
    url: str
    kind: str
    body: bytes
    lease: datetime
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def headers(outgoing: Outgoing, at: datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"Sluice-Webhooks/{__version__}",
        "X-Sluice-Event": outgoing.kind,
        "X-Sluice-Delivery": str(outgoing.delivery_id),
        "X-Sluice-Signature": sign(outgoing.secret, outgoing.body, int(at.timestamp())),
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is an answer, not a new address: following it could carry the notice somewhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def send(outgoing: Outgoing, at: datetime) -> Outcome:
    """POST one delivery; never raises for what the receiver or the network does."""
    request = urllib.request.Request(  # noqa: S310 - the URL was checked to be http(s) at registration
        outgoing.url, data=outgoing.body, method="POST", headers=headers(outgoing, at)
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return Outcome(response.status, None)
    except urllib.error.HTTPError as exc:
        with exc:
            return Outcome(exc.code, _http_error(exc))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Outcome(None, _network_error(exc))


def _http_error(exc: urllib.error.HTTPError) -> str:
    # Only the status line: the body of an answer is not kept, so a webhook aimed at an internal service
    # cannot be used to read that service's pages through the delivery log.
    message = f"HTTP {exc.code} {exc.reason}"
    if 300 <= exc.code < 400:
        message += " (redirects are not followed: register the address the receiver redirects to)"
    return _bounded(message)


def _network_error(exc: Exception) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s (timed out)"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused: nothing is listening at that address and port"
    return _bounded(f"{type(reason).__name__}: {reason}")


def _bounded(text: str) -> str:
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


# --- claim, send, record -------------------------------------------------------------------------------


@dataclass
class DeliveryCounts:
    """What one round did: deliveries attempted, and how each ended for now."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def deliver_due(source: Source, *, limit: int = 50) -> int:
    """Send up to ``limit`` due deliveries once each; the number attempted."""
    return deliver_batch(source, limit=limit).attempted


def deliver_batch(source: Source, *, limit: int = 50) -> DeliveryCounts:
    """Claim, send and record up to ``limit`` due deliveries (see the module docstring)."""
    counts = DeliveryCounts()
    if isinstance(source, Platform) and not _anything_due(source):
        return counts  # spare SQLite's write lock when there is nothing to do
    sessions = source.sessions if isinstance(source, Platform) else source
    with sessions() as session, session.begin():
        claimed = claim_due(session, limit=limit)
    for outgoing, outcome in _send_all(claimed, _clock(sessions)):
        with sessions() as session, session.begin():
            status = record_outcome(session, outgoing, outcome)
        _count(counts, status)
    return counts


def _anything_due(platform: Platform) -> bool:
    with platform.reading() as session:
        due = exists().where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value, WebhookDelivery.next_attempt_at <= now(session)
        )
        return bool(session.scalar(select(due)))


def _clock(sessions: sessionmaker[Session]) -> Clock:
    with sessions() as session:  # a session begins no transaction until it is used
        return cast("Clock", session.info["clock"])


def _send_all(claimed: Iterable[Outgoing], clock: Clock) -> Iterable[tuple[Outgoing, Outcome]]:
    for outgoing in claimed:
        at = clock.now()
        if at >= outgoing.lease - LEASE_MARGIN:
            # Another process may claim it once the lease runs out: leave it to that round, send nothing.
            log.warning("webhook delivery %s left for the next round: its lease is running out", outgoing.delivery_id)
            continue
        yield outgoing, send(outgoing, at)


def _count(counts: DeliveryCounts, status: DeliveryStatus | None) -> None:
    if status is None:
        return
    counts.attempted += 1
    if status is DeliveryStatus.DELIVERED:
        counts.delivered += 1
    elif status is DeliveryStatus.FAILED:
        counts.failed += 1
    else:
        counts.retrying += 1


def claim_due(session: Session, *, limit: int) -> list[Outgoing]:
    """Lock and lease up to ``limit`` due deliveries of active webhooks, oldest due first."""
    at = now(session)
    lease = at + LEASE
    due = (
        select(WebhookDelivery)
        .join(WebhookDelivery.webhook)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= at,
            Webhook.disabled_at.is_(None),
        )
        .options(contains_eager(WebhookDelivery.webhook), selectinload(WebhookDelivery.notice))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    deliveries = list(session.scalars(due))
    org_codes = _org_codes(session, {d.webhook.org_id for d in deliveries})
    for delivery in deliveries:
        delivery.next_attempt_at = lease
    return [_outgoing(d, org_codes.get(d.webhook.org_id), lease) for d in deliveries]


def _org_codes(session: Session, org_ids: set[int]) -> dict[int, str]:
    if not org_ids:
        return {}
    rows = session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(org_ids)))
    return dict(rows.all())  # not dict(rows): a Result has keys(), the column names


def _outgoing(delivery: WebhookDelivery, org_code: str | None, lease: datetime) -> Outgoing:
    return Outgoing(
        delivery_id=delivery.id,
        url=delivery.webhook.url,
        kind=delivery.notice.kind,
        body=notice_body(delivery.notice, org_code),
        lease=lease,
        secret=delivery.webhook.secret,
    )


def record_outcome(session: Session, outgoing: Outgoing, outcome: Outcome) -> DeliveryStatus | None:
    """Write how an attempt went and when the next is due; None if the delivery is no longer this round's
    (its lease ran out and another process took it, or its webhook was disabled meanwhile)."""
    delivery = session.get(WebhookDelivery, outgoing.delivery_id, with_for_update=True)
    if delivery is None or delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at != outgoing.lease:
        return None
    at = now(session)
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, at
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED.value
    else:
        delivery.next_attempt_at = at + BACKOFF[delivery.attempts - 1]
    return DeliveryStatus(delivery.status)


# --- the background sender -----------------------------------------------------------------------------


class WebhookDispatcher(Periodic):
    """Delivers due webhooks every ``interval`` seconds on a daemon thread, from ``start()`` to ``stop()``.

    Every API process may run one: claims keep them from sending the same delivery twice at once.
    """

    def __init__(self, source: Source, *, interval: float, limit: int = 50) -> None:
        super().__init__(
            "sluice-webhooks",
            lambda: deliver_due(source, limit=limit) >= limit,  # a full round: more may be due at once
            interval=interval,
            stop_timeout=2 * TIMEOUT_SECONDS,  # a send in progress ends within its timeout
        )
