"""`sluice serve` for real: a separate process, a real socket, the one line that says how to sign in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sluice.cli.main import app
from sluice.demo.build import DEMO_PASSWORD
from sluice.demo.grants import MARRIAGE_CHECK
from sluice.gateway.receipts import Receipt, verify
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.platform import Platform
from sluice.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(demo_settings: Settings) -> Iterator[tuple[str, str]]:
    port = free_port()
    env = {**os.environ, "SLUICE_DATA_DIR": str(demo_settings.data_dir)}
    if demo_settings.database_url:
        env["SLUICE_DATABASE_URL"] = demo_settings.database_url
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the server did not come up: {process.stderr.read() if process.stderr else ''}")
        yield base, first_line
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_prints_one_line_with_address_and_how_to_sign_in(served: tuple[str, str]) -> None:
    base, line = served
    assert line.endswith("\n")
    assert base in line
    assert DEMO_PASSWORD in line
    assert "psb-admin" in line


def test_the_served_api_signs_in_and_answers(served: tuple[str, str]) -> None:
    base, _ = served
    token = httpx2.post(f"{base}/api/v1/auth/token", data={"username": "auditor", "password": DEMO_PASSWORD}).json()
    me = httpx2.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["roles"] == ["auditor"]


def test_a_consumer_queries_a_server_from_its_own_shell_with_a_token(
    served: tuple[str, str], demo_settings: Settings, tmp_path: Path
) -> None:
    base, _line = served
    opened = Platform.open(demo_settings)
    try:
        with opened.transaction() as session:
            token = identity.create_token(session, Actor.system(via="test"), username="civil-analyst", name="cli").token
    finally:
        opened.close()
    runner = CliRunner(env={"SLUICE_TOKEN": token, "SLUICE_URL": base, "SLUICE_DATA_DIR": str(tmp_path / "nothing")})
    sql = "SELECT gender, count(*) AS n FROM psb.residents GROUP BY gender ORDER BY gender"
    receipt = tmp_path / "receipt.json"
    ran = runner.invoke(app, ["query", sql, "--purpose", MARRIAGE_CHECK, "--receipt", str(receipt)])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["columns"] == ["gender", "n"]
    signed = Receipt.model_validate_json(receipt.read_text("utf-8"))
    key = httpx2.get(f"{base}/api/v1/keys").json()[0]["public_key_pem"]
    assert verify(signed, key)
    parquet = tmp_path / "answer.parquet"
    ran = runner.invoke(
        app,
        [
            "query",
            "SELECT * FROM psb.residents",
            "--purpose",
            MARRIAGE_CHECK,
            "--format",
            "parquet",
            "-o",
            str(parquet),
        ],
    )
    assert ran.exit_code == 0, ran.output
    assert pq.read_table(parquet).column_names == ["id_number", "name", "gender", "birth_date", "division_code"]
    refused = runner.invoke(app, ["query", "SELECT phone FROM psb.residents", "--purpose", MARRIAGE_CHECK])
    assert refused.exit_code == 1
    assert "phone" in refused.output
    assert token not in refused.output
    wrong = CliRunner(env={"SLUICE_TOKEN": "not-a-token", "SLUICE_URL": base}).invoke(
        app, ["query", sql, "--purpose", "x y"]
    )
    assert wrong.exit_code == 1
    assert "401" in wrong.output
