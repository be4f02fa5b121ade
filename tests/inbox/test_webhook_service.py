"""The webhook use cases: who may register, see, test and disable a webhook; what is refused and why; the
secret shown once and never again; the audit events."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.errors import Conflict, Forbidden, Invalid, NotFound, SluiceError
from sluice.inbox import service as inbox
from sluice.inbox.models import Notice
from sluice.inbox.schemas import WebhookCreate
from sluice.inbox.webhooks import deliver_due, verify_signature
from tests.conftest import START, SYSTEM
from tests.inbox.conftest import Receiver, World

URL = "https://systems.psb.example.gov.cn/hooks/sluice"


def test_the_secret_is_returned_once_and_never_listed(world: World) -> None:
    hook = world.register(URL, kinds=("version.held",))

    assert hook.secret.startswith("whsec_")
    assert 40 <= len(hook.secret) <= 64
    assert (hook.organisation, hook.url, hook.kinds, hook.created_by) == ("psb", URL, ["version.held"], "psb-admin")
    for username in ("psb-admin", "operator", "auditor"):
        with world.platform.reading() as session:
            listed = inbox.list_webhooks(session, world.actor(username))
        assert [w.id for w in listed] == [hook.id]
        assert "secret" not in listed[0].model_dump()
        assert hook.secret not in listed[0].model_dump_json()


def test_registering_and_disabling_are_audited_without_the_secret(world: World) -> None:
    hook = world.register(URL)
    with world.platform.transaction() as session:
        inbox.disable_webhook(session, world.actor("psb-admin"), webhook_id=hook.id)
        inbox.disable_webhook(session, world.actor("psb-admin"), webhook_id=hook.id)  # once is enough
    with world.platform.reading() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.target == f"webhook:{hook.id}")))
    assert [e.action for e in events] == ["webhook.register", "webhook.disable"]
    assert json.loads(events[0].entry)["detail"] == {"organisation": "psb", "url": URL, "kinds": []}
    assert all(hook.secret not in e.entry for e in events)


def test_an_admin_lists_only_their_own_organisation(world: World) -> None:
    psb = world.register(URL)
    tax = world.register("https://tax.example.gov.cn/hook", username="tax-admin")
    with world.platform.reading() as session:
        assert [w.id for w in inbox.list_webhooks(session, world.actor("psb-admin"))] == [psb.id]
        assert [w.id for w in inbox.list_webhooks(session, world.actor("tax-admin"))] == [tax.id]
        assert [w.id for w in inbox.list_webhooks(session, world.actor("operator"))] == [psb.id, tax.id]
        assert [w.id for w in inbox.list_webhooks(session, world.actor("operator"), org_code="tax")] == [tax.id]
        with pytest.raises(Forbidden, match="only your own organisation"):
            inbox.list_webhooks(session, world.actor("tax-admin"), org_code="psb")
        with pytest.raises(Forbidden, match="org_admin"):
            inbox.list_webhooks(session, world.actor("psb-clerk"))


@pytest.mark.parametrize(
    ("use_case", "arguments"),
    [
        (inbox.disable_webhook, {}),
        (inbox.send_test, {}),
        (inbox.list_deliveries, {"limit": 10}),
    ],
    ids=["disable", "test", "deliveries"],
)
def test_another_organisation_cannot_touch_or_even_see_a_webhook(
    world: World, use_case: object, arguments: dict[str, object]
) -> None:
    hook = world.register(URL)
    for webhook_id in (hook.id, 9999):  # the same answer for "not yours" and "does not exist"
        with world.platform.transaction() as session, pytest.raises(NotFound, match=f"no webhook {webhook_id}"):
            use_case(session, world.actor("tax-admin"), webhook_id=webhook_id, **arguments)  # type: ignore[operator]
    assert world.deliveries() == []


def test_only_an_organisation_s_admin_registers_its_webhooks(world: World) -> None:
    data = WebhookCreate(url=URL)
    with world.platform.transaction() as session:
        for username in ("psb-clerk", "operator", "auditor"):
            with pytest.raises(Forbidden, match="org_admin"):
                inbox.register_webhook(session, world.actor(username), data=data)
        with pytest.raises(Forbidden):
            inbox.register_webhook(session, world.actor("tax-admin"), data=data, org_code="psb")
        by_shell = inbox.register_webhook(session, SYSTEM, data=data, org_code="psb")
        with pytest.raises(Invalid, match="name the organisation"):
            inbox.register_webhook(session, SYSTEM, data=WebhookCreate(url=URL + "/2"))
    assert by_shell.organisation == "psb"


def test_members_who_are_not_admins_and_the_auditor_cannot_disable(world: World) -> None:
    hook = world.register(URL)
    with world.platform.transaction() as session:
        with pytest.raises(Forbidden, match="org_admin"):
            inbox.disable_webhook(session, world.actor("psb-clerk"), webhook_id=hook.id)
        with pytest.raises(Forbidden, match="operator"):
            inbox.disable_webhook(session, world.actor("auditor"), webhook_id=hook.id)
        disabled = inbox.disable_webhook(session, world.actor("operator"), webhook_id=hook.id)
    assert disabled.disabled_at == START


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.gov.cn/hook", "http:// or https://"),
        ("example.gov.cn/hook", "http:// or https://"),
        ("https:///no-host", "http:// or https://"),
        ("https://exa mple.gov.cn/", "http:// or https://"),
        ("https://user:password@example.gov.cn/hook", "user name or password"),
        ("https://token@example.gov.cn/hook", "user name or password"),
        ("https://example.gov.cn/hook#part", "#fragment"),
        ("https://example.gov.cn:99999/hook", "port"),
        ("https://example.gov.cn/" + "a" * 480, "at most 500"),
    ],
)
def test_a_bad_url_is_refused_saying_what_to_fix(world: World, url: str, says: str) -> None:
    with world.platform.transaction() as session, pytest.raises(Invalid, match=says) as refused:
        inbox.register_webhook(session, world.actor("psb-admin"), data=WebhookCreate(url=url))
    assert refused.value.detail["field"] == "url"


@pytest.mark.parametrize("kind", ["Version.Held", "version held", "", "version..held", "x" * 65])
def test_a_bad_kind_is_refused(world: World, kind: str) -> None:
    data = WebhookCreate(url=URL, kinds=[kind])
    with world.platform.transaction() as session, pytest.raises(Invalid, match="kind") as refused:
        inbox.register_webhook(session, world.actor("psb-admin"), data=data)
    assert refused.value.detail["field"] == "kinds"


def test_kinds_are_kept_sorted_without_repeats(world: World) -> None:
    hook = world.register(URL, kinds=("version.held", "catalog.mark_personal", "version.held"))
    assert hook.kinds == ["catalog.mark_personal", "version.held"]


def test_the_same_address_twice_is_a_conflict_until_the_first_is_disabled(world: World) -> None:
    first = world.register(URL)
    with pytest.raises(Conflict, match=f"already has webhook {first.id}"):
        world.register(URL)
    world.register(URL, username="tax-admin")  # another organisation may use the same address
    with world.platform.transaction() as session:
        inbox.disable_webhook(session, world.actor("psb-admin"), webhook_id=first.id)
    assert world.register(URL).secret != first.secret


def test_a_test_delivery_goes_to_that_webhook_only_whatever_its_kinds(world: World, receiver: Receiver) -> None:
    hook = world.register(receiver.url, kinds=("version.held",))
    other = world.register(receiver.url + "/other")
    with world.platform.transaction() as session:
        queued = inbox.send_test(session, world.actor("psb-admin"), webhook_id=hook.id)
    assert (queued.kind, queued.status, queued.attempts, queued.next_attempt_at) == (
        "webhook.test",
        "pending",
        0,
        START,
    )
    assert world.deliveries(other.id) == []

    assert deliver_due(world.platform) == 1
    [got] = receiver.received
    assert got.headers["X-Sluice-Event"] == "webhook.test"
    assert verify_signature(hook.secret, got.headers["X-Sluice-Signature"], got.body, START)
    assert got.json()["target"] == f"webhook:{hook.id}"
    notice = world.notice(queued.notice_id)
    assert (notice.read_by, notice.org_id) == ("psb-admin", world.org_ids["psb"])  # on record, not nagging


def test_a_disabled_webhook_cannot_be_tested(world: World) -> None:
    hook = world.register(URL)
    with world.platform.transaction() as session:
        inbox.disable_webhook(session, world.actor("psb-admin"), webhook_id=hook.id)
    with world.platform.transaction() as session, pytest.raises(Conflict, match="disabled"):
        inbox.send_test(session, world.actor("psb-admin"), webhook_id=hook.id)


def test_deliveries_are_listed_newest_first_in_pages(world: World) -> None:
    hook = world.register(URL)
    notices = [world.notify(n=n) for n in range(3)]
    with world.platform.reading() as session:
        admin = world.actor("psb-admin")
        first = inbox.list_deliveries(session, admin, webhook_id=hook.id, limit=2)
        second = inbox.list_deliveries(session, admin, webhook_id=hook.id, cursor=first.next, limit=2)
        with pytest.raises(Invalid, match="limit"):
            inbox.list_deliveries(session, admin, webhook_id=hook.id, limit=0)
    assert [d.notice_id for d in first.items] == notices[:0:-1]
    assert [d.notice_id for d in second.items] == notices[:1]
    assert second.next is None
    assert {d.kind for d in first.items} == {"version.held"}


def test_the_auditor_reads_deliveries_but_the_anonymous_public_does_not(world: World) -> None:
    from sluice.identity.actor import Actor

    hook = world.register(URL)
    world.notify()
    with world.platform.reading() as session:
        assert len(inbox.list_deliveries(session, world.actor("auditor"), webhook_id=hook.id).items) == 1
        with pytest.raises(SluiceError, match="sign in"):
            inbox.list_deliveries(session, Actor.anonymous(), webhook_id=hook.id)


def test_the_inbox_still_lists_notices_and_webhooks_change_nothing_there(world: World) -> None:
    world.register(URL)
    notice_id = world.notify()
    with world.platform.reading() as session:
        found = inbox.list_notices(session, world.actor("psb-clerk"))
        assert [n.id for n in found] == [notice_id]
        assert session.scalar(select(Notice.read_at).where(Notice.id == notice_id)) is None


def test_the_operator_can_restrict_webhooks_to_named_hosts(world: World) -> None:
    world.platform.settings.webhook_hosts = ["hooks.gov.example"]
    try:
        with world.platform.transaction() as session, pytest.raises(Invalid, match=r"only to hooks\.gov\.example"):
            inbox.register_webhook(
                session, world.actor("psb-admin"), data=WebhookCreate(url="http://169.254.169.254/latest/meta-data")
            )
        assert world.register("https://hooks.gov.example/psb").url == "https://hooks.gov.example/psb"
    finally:
        world.platform.settings.webhook_hosts = []
