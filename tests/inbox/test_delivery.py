"""Webhook deliveries over real HTTP: signed bodies, retries on the back-off schedule, failure after six
attempts, what is recorded when the receiver or the network fails, and claims that keep two senders apart."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sluice.audit.log import canonical_json
from sluice.clock import FixedClock
from sluice.identity.roles import Role
from sluice.inbox import webhooks
from sluice.inbox.models import WebhookDelivery
from sluice.inbox.post import notify
from sluice.inbox.webhooks import (
    BACKOFF,
    LEASE,
    MAX_ATTEMPTS,
    Outcome,
    WebhookDispatcher,
    claim_due,
    deliver_batch,
    deliver_due,
    record_outcome,
    sign,
    verify_signature,
)
from tests.conftest import START, Backend
from tests.inbox.conftest import Receiver, World


def test_a_notice_for_an_organisation_reaches_its_webhook_signed(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url)
    notice_id = world.notify("version.held", version=3)

    assert deliver_due(world.platform) == 1

    [got] = receiver.received
    assert got.path == "/hooks/sluice"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Sluice-Event"] == "version.held"
    [delivery] = world.deliveries(hook.id)
    assert got.headers["X-Sluice-Delivery"] == str(delivery.id)
    assert got.headers["X-Sluice-Signature"] == f"t={int(START.timestamp())},v1=" + _hex(got.headers)
    assert verify_signature(hook.secret, got.headers["X-Sluice-Signature"], got.body, START)
    assert got.json() == {
        "id": notice_id,
        "kind": "version.held",
        "target": "resource:psb.residents",
        "message": "a version.held notice",
        "detail": {"version": 3},
        "created_at": START.isoformat(),
        "organisation": "psb",
    }
    assert got.body == canonical_json(got.json()).encode("utf-8")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at == START
    assert delivery.last_error is None


def _hex(headers: dict[str, str]) -> str:
    return headers["X-Sluice-Signature"].split("v1=")[1]


def test_the_signature_fails_with_a_wrong_secret_a_changed_body_or_an_old_timestamp(world: World) -> None:
    body = b'{"id":1,"kind":"version.held"}'
    secret = "whsec_right"
    at = int(START.timestamp())
    header = sign(secret, body, at)

    assert verify_signature(secret, header, body, START)
    assert verify_signature(secret, header, body.decode(), float(at) + 300)  # str body, unix seconds, at the edge
    assert not verify_signature("whsec_wrong", header, body, START)
    assert not verify_signature(secret, header, body.replace(b"held", b"gone"), START)
    assert not verify_signature(secret, header, body, START + timedelta(seconds=301))
    assert not verify_signature(secret, header, body, START - timedelta(seconds=301))  # from the future
    assert verify_signature(secret, header, body, START + timedelta(minutes=10), tolerance=900)
    # Replaying an old signature with a fresh timestamp does not verify: the timestamp is signed too.
    assert not verify_signature(secret, header.replace(f"t={at}", f"t={at + 600}"), body, START + timedelta(minutes=10))


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1764493200", "t=1764493200,v1="])
def test_a_malformed_signature_header_does_not_verify(header: str) -> None:
    assert not verify_signature("whsec_right", header, b"{}", START)


def test_any_one_of_several_v1_signatures_may_match(world: World) -> None:
    at = int(START.timestamp())
    good = sign("whsec_new", b"{}", at)
    old = sign("whsec_old", b"{}", at).split(",")[1]
    assert verify_signature("whsec_new", f"{old},{good}", b"{}", START)


def test_a_500_then_a_200_is_delivered_on_the_second_attempt(
    world: World, receiver: Receiver, clock: FixedClock
) -> None:
    hook = world.register(receiver.url)
    world.notify()
    receiver.statuses = [500]

    assert deliver_due(world.platform) == 1
    [delivery] = world.deliveries(hook.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500 Internal Server Error"  # never the answer's body
    assert delivery.next_attempt_at == START + timedelta(seconds=30)

    assert deliver_due(world.platform) == 0  # not due yet
    clock.advance(timedelta(seconds=29))
    assert deliver_due(world.platform) == 0
    clock.advance(timedelta(seconds=1))
    assert deliver_due(world.platform) == 1

    [delivery] = world.deliveries(hook.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.last_error is None
    assert delivery.delivered_at == START + timedelta(seconds=30)
    first, second = receiver.received
    assert first.headers["X-Sluice-Delivery"] == second.headers["X-Sluice-Delivery"]  # receivers deduplicate on it
    assert first.body == second.body
    assert second.headers["X-Sluice-Signature"].startswith(f"t={int(START.timestamp()) + 30},")
    assert verify_signature(hook.secret, second.headers["X-Sluice-Signature"], second.body, clock.now())


def test_after_six_failed_attempts_the_delivery_fails_for_good(
    world: World, receiver: Receiver, clock: FixedClock
) -> None:
    hook = world.register(receiver.url)
    world.notify()
    receiver.statuses = [503] * MAX_ATTEMPTS
    waits = [timedelta(0), *BACKOFF]
    assert len(waits) == MAX_ATTEMPTS == 6

    for attempt, wait in enumerate(waits, start=1):
        clock.advance(wait)
        counts = deliver_batch(world.platform)
        assert counts.attempted == 1
        [delivery] = world.deliveries(hook.id)
        assert delivery.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert (counts.retrying, delivery.status) == (1, "pending")
            assert delivery.next_attempt_at == clock.now() + BACKOFF[attempt - 1]

    assert (counts.failed, delivery.status, delivery.last_status_code) == (1, "failed", 503)
    assert delivery.delivered_at is None
    clock.advance(timedelta(days=7))
    assert deliver_due(world.platform) == 0
    assert len(receiver.received) == MAX_ATTEMPTS
    assert [w.total_seconds() for w in BACKOFF] == [30, 120, 600, 3600, 21600]


def test_a_refused_connection_is_recorded_as_an_error_and_retried(
    world: World, closed_port_url: str, clock: FixedClock
) -> None:
    hook = world.register(closed_port_url)
    world.notify()

    assert deliver_due(world.platform) == 1

    [delivery] = world.deliveries(hook.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error is not None
    assert "connection refused" in delivery.last_error
    assert hook.secret not in delivery.last_error
    assert delivery.next_attempt_at == START + BACKOFF[0]


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.2)
    receiver.delay_seconds = 1.0
    hook = world.register(receiver.url)
    world.notify()

    assert deliver_due(world.platform) == 1

    [delivery] = world.deliveries(hook.id)
    assert delivery.status == "pending"
    assert delivery.last_error == "no answer within 0.2 s (timed out)"


def test_a_redirect_is_not_followed(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url)
    world.notify()
    receiver.statuses = [302]

    assert deliver_due(world.platform) == 1

    assert [r.path for r in receiver.received] == ["/hooks/sluice"]  # nothing was sent to /elsewhere
    [delivery] = world.deliveries(hook.id)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert delivery.last_error is not None
    assert "redirects are not followed" in delivery.last_error


def test_a_long_error_answer_is_recorded_bounded(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url)
    world.notify()
    receiver.statuses = [500]
    deliver_due(world.platform)
    [delivery] = world.deliveries(hook.id)
    assert delivery.last_error is not None
    assert len(delivery.last_error) <= webhooks.ERROR_MAX_CHARS


def test_only_the_kinds_a_webhook_takes_are_sent(world: World, receiver: Receiver) -> None:
    held_only = world.register(receiver.url, kinds=("version.held",))
    every_kind = world.register(receiver.url + "/all")
    world.notify("version.held")
    world.notify("catalog.mark_personal")

    assert [d.notice.kind for d in _with_notices(world, held_only.id)] == ["version.held"]
    assert [d.notice.kind for d in _with_notices(world, every_kind.id)] == ["version.held", "catalog.mark_personal"]
    assert deliver_due(world.platform) == 3
    assert sorted(r.headers["X-Sluice-Event"] for r in receiver.received) == [
        "catalog.mark_personal",
        "version.held",
        "version.held",
    ]


def _with_notices(world: World, webhook_id: int) -> list[WebhookDelivery]:
    with world.platform.reading() as session:
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .options(selectinload(WebhookDelivery.notice))
            .order_by(WebhookDelivery.id)
        )
        return list(session.scalars(query))


def test_role_notices_and_other_organisations_notices_are_not_sent(world: World, receiver: Receiver) -> None:
    world.register(receiver.url)
    with world.platform.transaction() as session:
        notify(session, kind="version.held", target="x", message="for the manager", role=Role.MANAGER)
    world.notify(org="tax")

    assert world.deliveries() == []
    assert deliver_due(world.platform) == 0
    assert receiver.received == []


def test_a_disabled_webhook_gets_nothing_and_what_waited_for_it_fails(world: World, receiver: Receiver) -> None:
    from sluice.inbox import service as inbox

    hook = world.register(receiver.url)
    world.notify()
    with world.platform.transaction() as session:
        inbox.disable_webhook(session, world.actor("psb-admin"), webhook_id=hook.id)
    world.notify()

    assert deliver_due(world.platform) == 0
    [cancelled] = world.deliveries(hook.id)  # the second notice was never queued
    assert (cancelled.status, cancelled.attempts) == ("failed", 0)
    assert cancelled.last_error == "the webhook was disabled before this was delivered"
    assert receiver.received == []


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(world: World, clock: FixedClock) -> None:
    world.register("http://127.0.0.1:9/never-called")
    world.notify()

    with world.platform.transaction() as session:
        first = claim_due(session, limit=10)
    with world.platform.transaction() as session:
        assert claim_due(session, limit=10) == []  # a second process finds nothing to send
    assert len(first) == 1
    assert first[0].lease == START + LEASE
    assert "secret" not in repr(first[0])

    # The first process died before recording anything: once the lease is over, another takes it over...
    clock.advance(LEASE)
    with world.platform.transaction() as session:
        second = claim_due(session, limit=10)
    assert [o.delivery_id for o in second] == [first[0].delivery_id]
    # ...and a late answer of the first process is ignored rather than written over the second's.
    with world.platform.transaction() as session:
        assert record_outcome(session, first[0], Outcome(200, None)) is None
    with world.platform.transaction() as session:
        assert record_outcome(session, second[0], Outcome(200, None)) == "delivered"
    [delivery] = world.deliveries()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_a_claim_takes_at_most_limit_oldest_due_first(world: World) -> None:
    world.register("http://127.0.0.1:9/never-called")
    for _ in range(3):
        world.notify()
    with world.platform.transaction() as session:
        claimed = claim_due(session, limit=2)
    ids = [d.id for d in world.deliveries()]
    assert [o.delivery_id for o in claimed] == ids[:2]


def test_the_dispatcher_delivers_in_the_background_until_stopped(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url)
    dispatcher = WebhookDispatcher(world.platform, interval=0.05)
    dispatcher.start()
    try:
        world.notify()
        receiver.wait_for(1)
    finally:
        dispatcher.stop()
    assert not dispatcher.running
    assert json.loads(receiver.received[0].body)["kind"] == "version.held"
    assert [d.status for d in world.deliveries(hook.id)] == ["delivered"]


def test_a_dispatcher_needs_a_positive_interval(world: World) -> None:
    with pytest.raises(ValueError, match="interval"):
        WebhookDispatcher(world.platform, interval=0)


def test_on_postgresql_a_second_sender_skips_what_the_first_is_claiming(world: World, backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite has one writer: a second claim waits for the first instead of skipping its rows")
    world.register("http://127.0.0.1:9/never-called")
    world.notify()
    world.notify()
    with world.platform.transaction() as first:
        mine = claim_due(first, limit=1)  # locked, not yet committed
        with world.platform.transaction() as second:
            theirs = claim_due(second, limit=10)
    assert len(mine) == len(theirs) == 1
    assert mine[0].delivery_id != theirs[0].delivery_id
