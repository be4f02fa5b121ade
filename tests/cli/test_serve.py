"""`sluice serve` for real: a separate process, a real socket, the one line that says how to sign in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2
import pytest

from sluice.demo.build import DEMO_PASSWORD
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
