"""Fixtures of the inbox tests: two departments with their admins, the platform's accounts, and a real local
HTTP server standing in for an organisation's system that receives webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_organisation, find_user
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.inbox import service as inbox
from sluice.inbox.models import Notice, WebhookDelivery
from sluice.inbox.post import notify
from sluice.inbox.schemas import NewWebhook, WebhookCreate
from sluice.platform import Platform
from tests.conftest import SYSTEM

ORGS = (
    ("psb", "市公安局", OrgKind.DEPARTMENT),
    ("tax", "市税务局", OrgKind.DEPARTMENT),
    ("platform", "平台", OrgKind.PLATFORM),
)
ACCOUNTS = (
    ("psb-admin", "psb", [Role.ORG_ADMIN]),
    ("psb-clerk", "psb", [Role.PROVIDER]),
    ("tax-admin", "tax", [Role.ORG_ADMIN]),
    ("operator", "platform", [Role.OPERATOR]),
    ("auditor", "platform", [Role.AUDITOR]),
)


@dataclass(frozen=True)
class World:
    platform: Platform
    org_ids: dict[str, int]

    def actor(self, username: str) -> Actor:
        with self.platform.reading() as session:
            return actor_for_user(find_user(session, username), via="test")

    def register(self, url: str, kinds: tuple[str, ...] = (), username: str = "psb-admin") -> NewWebhook:
        with self.platform.transaction() as session:
            return inbox.register_webhook(session, self.actor(username), data=WebhookCreate(url=url, kinds=list(kinds)))

    def notify(self, kind: str = "version.held", org: str = "psb", **detail: Any) -> int:
        with self.platform.transaction() as session:
            notice = notify(
                session,
                kind=kind,
                target="resource:psb.residents",
                message=f"a {kind} notice",
                org_id=self.org_ids[org],
                detail=detail or {"version": 3},
            )
            session.flush()
            return notice.id

    def deliveries(self, webhook_id: int | None = None) -> list[WebhookDelivery]:
        with self.platform.reading() as session:
            query = select(WebhookDelivery).order_by(WebhookDelivery.id)
            if webhook_id is not None:
                query = query.where(WebhookDelivery.webhook_id == webhook_id)
            return list(session.scalars(query))

    def notice(self, notice_id: int) -> Notice:
        with self.platform.reading() as session:
            found = session.get(Notice, notice_id)
            assert found is not None
            return found


@pytest.fixture
def world(platform: Platform) -> World:
    with platform.transaction() as session:
        for code, name, kind in ORGS:
            data = OrganisationCreate(code=code, name_zh=name, name_en=code.upper(), kind=kind)
            identity.create_organisation(session, SYSTEM, data=data)
        for username, org, roles in ACCOUNTS:
            identity.create_user(session, SYSTEM, data=UserCreate(username=username, org_code=org, roles=roles))
        org_ids = {code: find_organisation(session, code).id for code, _, _ in ORGS}
    return World(platform, org_ids)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An organisation's system: answers each POST with the next of ``statuses`` (200 once they run out)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"received {len(self.received)} of {count} deliveries"


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            time.sleep(receiver.delay_seconds)
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            payload = b"receiver says no" if status >= 300 else b"ok"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the test output is for failures
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    server.daemon_threads = True
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sluice"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens: a port the system gave out and took back."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"
