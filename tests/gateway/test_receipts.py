"""Receipts: every answer is signed; the signature verifies with the published key, and fails if anything
in the receipt changes or another key is used."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sluice.cli.main import app
from sluice.demo.grants import MARRIAGE_CHECK
from sluice.gateway.querying import query
from sluice.gateway.receipts import Receipt, verify
from sluice.gateway.schemas import QueryRequest
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform
from sluice.settings import Settings
from sluice.signing import Signer
from tests.conftest import bearer

SQL = "SELECT gender, count(*) AS n FROM psb.residents GROUP BY gender ORDER BY gender"


def answer_for(platform: Platform) -> Receipt:
    with platform.reading() as session:
        analyst = actor_for_user(find_user(session, "civil-analyst"), via="test")
    return query(platform, analyst, QueryRequest(sql=SQL, purpose=MARRIAGE_CHECK)).receipt


def test_a_receipt_verifies_with_the_published_key_and_names_the_delivery(
    demo: Platform, demo_client: TestClient
) -> None:
    answered = demo_client.post(
        "/api/v1/query", json={"sql": SQL, "purpose": MARRIAGE_CHECK}, headers=bearer(demo, "civil-analyst")
    ).json()
    receipt = Receipt.model_validate(answered["receipt"])
    keys = demo_client.get("/api/v1/keys").json()
    assert keys[0]["key_id"] == receipt.key_id
    assert verify(receipt, keys[0]["public_key_pem"])
    assert receipt.body["audit_event"] == answered["audit_event"]
    assert receipt.body["result_digest"] == answered["result_digest"]
    assert receipt.body["rows"] == answered["row_count"]
    assert receipt.body["actor"] == "civil-analyst"


def test_a_changed_receipt_or_another_key_does_not_verify(demo: Platform) -> None:
    receipt = answer_for(demo)
    pem = demo.signer.public_key_pem
    assert verify(receipt, pem)
    for field, value in (("rows", 10**6), ("result_digest", "0" * 64), ("actor", "someone-else")):
        changed = receipt.model_copy(update={"body": {**receipt.body, field: value}})
        assert not verify(changed, pem), field
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Signer(Ed25519PrivateKey.generate())
    assert not verify(receipt, other.public_key_pem)


def test_the_shell_queries_as_an_account_and_verifies_the_receipt(demo_settings: Settings, tmp_path: Path) -> None:
    env = {"SLUICE_DATA_DIR": str(demo_settings.data_dir), "SLUICE_DATABASE_URL": demo_settings.database_url}
    runner = CliRunner(env=env)
    receipt_file = tmp_path / "receipt.json"
    ran = runner.invoke(
        app,
        ["--as", "civil-analyst", "query", SQL, "--purpose", MARRIAGE_CHECK, "--receipt", str(receipt_file)],
    )
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["columns"] == ["gender", "n"]
    checked = runner.invoke(app, ["receipt", "verify", str(receipt_file)])
    assert checked.exit_code == 0, checked.output
    assert "valid receipt" in " ".join(checked.stdout.split())  # Rich wraps long paths
    tampered = json.loads(receipt_file.read_text("utf-8"))
    tampered["body"]["rows"] += 1
    receipt_file.write_text(json.dumps(tampered), "utf-8")
    refused = runner.invoke(app, ["receipt", "verify", str(receipt_file)])
    assert refused.exit_code == 1
    assert "does not verify" in refused.stderr
    denied = runner.invoke(
        app, ["--as", "civil-analyst", "query", "SELECT phone FROM psb.residents", "--purpose", MARRIAGE_CHECK]
    )
    assert denied.exit_code == 1
    assert "not in your grant" in denied.stderr
