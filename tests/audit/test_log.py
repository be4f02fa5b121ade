"""The Merkle log on the platform's database: events queued with their change and sequenced in batches without
gaps; signed tree heads; inclusion proofs for a gateway receipt's event and consistency proofs between heads,
checked with the RFC 9162 verifiers; the database refusing UPDATE and DELETE; and verification catching a
tamperer who drops the triggers."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from sluice.audit import service
from sluice.audit.log import canonical_json
from sluice.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from sluice.audit.models import AuditEvent, AuditLeaf, AuditQueue
from sluice.audit.sequencer import head_body, sequence
from sluice.cli.main import app
from sluice.clock import FixedClock
from sluice.demo.grants import MARRIAGE_CHECK
from sluice.errors import Forbidden
from sluice.gateway.querying import query
from sluice.gateway.schemas import QueryRequest
from sluice.platform import Platform
from tests.conftest import SYSTEM, bearer
from tests.sharing.conftest import as_


def sign(platform: Platform) -> int:
    with platform.transaction() as session:
        return service.new_tree_head(session, SYSTEM).tree_size


def test_every_event_gets_one_place_in_order_and_the_head_is_signed(demo: Platform) -> None:
    size = sign(demo)
    with demo.reading() as session:
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        queued = session.scalar(select(func.count()).select_from(AuditQueue))
        indexes = list(session.scalars(select(AuditLeaf.index).order_by(AuditLeaf.index)))
        head = service.latest_tree_head(session, SYSTEM)
    assert size == events == len(indexes) > 0
    assert queued == 0
    assert indexes == list(range(size))  # no gaps, no duplicates
    key = load_pem_public_key(demo.signer.public_key_pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    body = head_body(head.tree_size, bytes.fromhex(head.root_hash), head.timestamp, head.key_id)
    key.verify(base64.b64decode(head.signature), canonical_json(body).encode())  # raises if it does not hold


def test_a_receipt_proves_its_delivery_was_logged(demo: Platform, demo_client: TestClient) -> None:
    first = sign(demo)
    answer = query(
        demo,
        as_(demo, "civil-analyst"),
        QueryRequest(sql="SELECT name FROM psb.residents LIMIT 1", purpose=MARRIAGE_CHECK),
    )
    second = sign(demo)
    proof = demo_client.get("/api/v1/audit/proof/inclusion", params={"event": answer.audit_event}).json()
    with demo.reading() as session:
        entry = session.get_one(AuditEvent, answer.audit_event).entry
    assert proof["tree_size"] == second
    assert bytes.fromhex(proof["leaf_hash"]) == leaf_hash(entry.encode())
    logged = json.loads(entry)["detail"]
    assert logged["result_digest"] == answer.receipt.body["result_digest"] == answer.result_digest  # this delivery
    assert answer.receipt.body["audit_event"] == answer.audit_event
    assert verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["index"],
        proof["tree_size"],
        [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(proof["root_hash"]),
    )
    consistency = demo_client.get("/api/v1/audit/proof/consistency", params={"first": first, "second": second}).json()
    assert verify_consistency(
        first,
        second,
        bytes.fromhex(consistency["first_root"]),
        bytes.fromhex(consistency["second_root"]),
        [bytes.fromhex(p) for p in consistency["proof"]],
    )
    assert demo_client.get("/api/v1/audit/entries").status_code == 401
    assert demo_client.get("/api/v1/audit/entries", headers=bearer(demo, "operator")).status_code == 403
    page = demo_client.get("/api/v1/audit/entries", headers=bearer(demo, "auditor"), params={"limit": 5}).json()
    assert [e["index"] for e in page["entries"]] == [0, 1, 2, 3, 4]
    assert page["next"] == 5


def test_sequencing_is_taken_up_again_after_an_interrupted_batch(demo: Platform) -> None:
    with demo.transaction() as session:
        sequence(session, limit=10)

    def dies_mid_batch() -> None:
        with demo.transaction() as session:
            sequence(session, limit=10)
            raise RuntimeError("the process dies mid-batch")  # the batch rolls back: nothing half-written

    with pytest.raises(RuntimeError):
        dies_mid_batch()
    size = sign(demo)
    with demo.reading() as session:
        assert list(session.scalars(select(AuditLeaf.index).order_by(AuditLeaf.index))) == list(range(size))


def test_the_database_refuses_to_change_the_log(demo: Platform) -> None:
    sign(demo)
    for statement in (
        "UPDATE audit_events SET actor = 'nobody' WHERE id = 1",
        "DELETE FROM audit_events WHERE id = 1",
        'UPDATE audit_leaves SET leaf_hash = leaf_hash WHERE "index" = 0',
        "DELETE FROM audit_tree_heads",
    ):
        with pytest.raises(DBAPIError, match="append-only"), demo.transaction() as session:
            session.execute(text(statement))


def test_verification_finds_a_change_made_by_someone_who_dropped_the_triggers(demo: Platform, tmp_path: Path) -> None:
    sign(demo)
    env = {"SLUICE_DATA_DIR": str(demo.settings.data_dir), "SLUICE_DATABASE_URL": demo.settings.database_url or ""}
    clean = CliRunner(env=env).invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    postgres = demo.engine.dialect.name == "postgresql"
    with demo.engine.begin() as connection:
        if postgres:
            connection.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("UPDATE audit_events SET entry = replace(entry, 'demo', 'fake') WHERE id = 3"))
    tampered = CliRunner(env=env).invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    with demo.reading() as session:
        index = session.scalar(select(AuditLeaf.index).where(AuditLeaf.event_id == 3))
    assert f"entry at index {index} was changed" in tampered.stdout
    assert "root differs from the entries" in tampered.stdout
    exported = CliRunner(env=env).invoke(app, ["audit", "export", str(tmp_path / "log")])
    assert exported.exit_code == 0, exported.output
    offline = CliRunner(env=env).invoke(app, ["audit", "verify", "--from-export", str(tmp_path / "log")])
    assert offline.exit_code == 1


def test_only_the_auditor_or_operator_asks_for_a_fresh_head(demo: Platform) -> None:
    with demo.transaction() as session, pytest.raises(Forbidden):
        service.new_tree_head(session, as_(demo, "civil-analyst"))
    with demo.transaction() as session:
        assert service.new_tree_head(session, as_(demo, "auditor")).tree_size > 0


def test_the_auditor_sees_flows_denials_and_unusual_volumes(demo: Platform, demo_client: TestClient) -> None:
    analyst = as_(demo, "civil-analyst")
    for _ in range(2):
        query(demo, analyst, QueryRequest(sql="SELECT name FROM psb.residents LIMIT 3", purpose=MARRIAGE_CHECK))
    with pytest.raises(Forbidden):
        query(demo, analyst, QueryRequest(sql="SELECT phone FROM psb.residents", purpose=MARRIAGE_CHECK))
    period = {"start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"}
    assert demo_client.get("/api/v1/audit/access", params=period, headers=bearer(demo, "operator")).status_code == 403
    report = demo_client.get("/api/v1/audit/access", params=period, headers=bearer(demo, "auditor")).json()
    flow = next(f for f in report["flows"] if f["organisation"] == "civil" and f["resource"] == "psb.residents")
    assert flow["purpose"] == MARRIAGE_CHECK
    assert flow["calls"] >= 2
    assert flow["rows"] >= 6
    assert "civil-analyst" in flow["accounts"]
    assert any(d["actor"] == "civil-analyst" and "phone" in d["message"] for d in report["denied"])


def test_a_day_far_above_the_usual_volume_is_flagged(platform: Platform, clock: FixedClock) -> None:
    from datetime import timedelta

    from sluice.audit import views
    from sluice.audit.log import record

    start = clock.now()
    for rows in (500, 600, 550, 9000, 520):
        with platform.transaction() as session:
            record(session, SYSTEM, "gateway.query", "resource:psb.residents", rows=rows, purpose="check")
        clock.advance(timedelta(days=1))
    with platform.reading() as session:
        found = views.unusual(session, start, clock.now())
    assert [(u.resource, u.rows, u.typical_rows) for u in found] == [("psb.residents", 9000, 550)]
