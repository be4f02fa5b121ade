"""Answers as files (CSV with or without BOM, Parquet, Arrow IPC) and downloads: the same governed rows, a
receipt in a header whose digest is of exactly the bytes sent, and the grant's delivery modes honoured."""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from sluice.clock import FixedClock
from sluice.demo.grants import MARRIAGE_CHECK, MARRIAGE_GRANT
from sluice.gateway import querying
from sluice.gateway.models import Grant
from sluice.gateway.receipts import Receipt, verify
from sluice.platform import Platform
from sluice.ratelimit import RateLimiter
from tests.conftest import bearer

SQL = {
    "sql": "SELECT id_number, name, division_code FROM psb.residents ORDER BY 1, 2 LIMIT 50",
    "purpose": MARRIAGE_CHECK,
}


def receipt_of(response: object) -> Receipt:
    header = response.headers["X-Sluice-Receipt"]  # type: ignore[attr-defined]
    return Receipt.model_validate_json(base64.b64decode(header))


def test_every_format_carries_the_same_governed_rows_and_a_receipt_of_its_bytes(
    demo: Platform, demo_client: TestClient
) -> None:
    headers = bearer(demo, "civil-analyst")
    as_json = demo_client.post("/api/v1/query", json=SQL, headers=headers).json()
    expected = [tuple(row) for row in as_json["rows"]]
    as_parquet = demo_client.post("/api/v1/query", params={"format": "parquet"}, json=SQL, headers=headers)
    assert as_parquet.status_code == 200, as_parquet.text
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert [tuple(r.values()) for r in table.to_pylist()] == expected
    as_arrow = demo_client.post("/api/v1/query", params={"format": "arrow"}, json=SQL, headers=headers)
    streamed = pa.ipc.open_stream(io.BytesIO(as_arrow.content)).read_all()
    assert [tuple(r.values()) for r in streamed.to_pylist()] == expected
    as_csv = demo_client.post("/api/v1/query", params={"format": "csv", "bom": "true"}, json=SQL, headers=headers)
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    lines = as_csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == '"id_number","name","division_code"'
    assert len(lines) == len(expected) + 1
    for response in (as_parquet, as_arrow, as_csv):
        receipt = receipt_of(response)
        assert verify(receipt, demo.signer.public_key_pem)
        assert receipt.body["result_digest"] == hashlib.sha256(response.content).hexdigest()
        assert receipt.body["rows"] == len(expected)


def test_a_download_needs_the_download_delivery_mode(demo: Platform, demo_client: TestClient) -> None:
    headers = bearer(demo, "civil-analyst")
    params = {"format": "csv", "purpose": MARRIAGE_CHECK}
    downloaded = demo_client.get("/api/v1/resources/psb.residents/download", params=params, headers=headers)
    assert downloaded.status_code == 200, downloaded.text
    assert "phone" not in downloaded.content.decode("utf-8").splitlines()[0]
    assert downloaded.headers["X-Sluice-Truncated"] == "false"
    with demo.transaction() as session:
        session.execute(update(Grant).where(MARRIAGE_GRANT).values(delivery_json='["query"]'))
    refused = demo_client.get("/api/v1/resources/psb.residents/download", params=params, headers=headers)
    assert refused.status_code == 403
    assert "delivery by download" in refused.json()["error"]["message"]


def test_open_data_downloads_for_anyone_and_bad_requests_are_refused(demo_client: TestClient) -> None:
    opened = demo_client.get("/api/v1/resources/amr.enterprises/download", params={"format": "parquet"})
    assert opened.status_code == 200, opened.text
    assert pq.read_table(io.BytesIO(opened.content)).num_rows > 0
    as_json = demo_client.get("/api/v1/resources/amr.enterprises/download", params={"format": "json"})
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    rows = as_json.json()  # an array of objects, one per row: the same rows as the Parquet file
    assert len(rows) == pq.read_table(io.BytesIO(opened.content)).num_rows
    assert set(rows[0]) == set(pq.read_table(io.BytesIO(opened.content)).column_names)
    assert "x-sluice-receipt" in as_json.headers
    assert demo_client.get("/api/v1/resources/amr.enterprises/download", params={"format": "xml"}).status_code == 422
    hostile = demo_client.get("/api/v1/resources/amr.enterprises%20UNION%20SELECT%201/download")
    assert hostile.status_code in (404, 422)


def test_the_public_is_rate_limited_per_client_and_accounts_are_not(
    demo: Platform, demo_client: TestClient, clock: FixedClock
) -> None:
    demo_client.app.state.anonymous_limiter = RateLimiter(2, clock)  # type: ignore[attr-defined]
    open_sql = {"sql": "SELECT count(*) FROM amr.enterprises", "purpose": "research"}
    statuses = [demo_client.post("/api/v1/query", json=open_sql).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = demo_client.get("/api/v1/resources/amr.enterprises/rows")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    signed_in = demo_client.post("/api/v1/query", json=open_sql, headers=bearer(demo, "bank-analyst"))
    assert signed_in.status_code == 200
    clock.advance(timedelta(minutes=1))
    assert demo_client.post("/api/v1/query", json=open_sql).status_code == 200


def test_a_large_export_is_spooled_to_disk_streamed_whole_and_its_bytes_are_the_receipt_s(
    demo: Platform, demo_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(querying, "SPOOL_BYTES", 4096)  # anything bigger goes to a file in the data folder
    spooled: list[object] = []
    real = tempfile.SpooledTemporaryFile

    def watched(*args: Any, **kwargs: Any) -> object:
        made = real(*args, **kwargs)
        spooled.append(made)
        return made

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", watched)
    headers = bearer(demo, "civil-analyst")
    request = {
        "sql": "SELECT * FROM psb.residents, (SELECT 1 AS copy UNION ALL SELECT 2 UNION ALL SELECT 3)",
        "purpose": MARRIAGE_CHECK,
    }
    count = demo_client.post(
        "/api/v1/query", json={**request, "sql": "SELECT count(*) * 3 FROM psb.residents"}, headers=headers
    ).json()["rows"][0][0]
    response = demo_client.post("/api/v1/query", params={"format": "csv"}, json=request, headers=headers)
    assert response.status_code == 200, response.text
    assert int(response.headers["X-Sluice-Rows"]) == count
    assert response.headers["X-Sluice-Truncated"] == "false"
    assert len(response.content.decode("utf-8").splitlines()) == count + 1
    assert receipt_of(response).body["result_digest"] == hashlib.sha256(response.content).hexdigest()
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert not spooled  # the lake's CSV and Parquet are written by DuckDB itself, in lake/.exports …
    assert list((demo.settings.lake_dir / ".exports").iterdir()) == []  # … and gone once opened
    arrow = demo_client.post("/api/v1/query", params={"format": "arrow"}, json=request, headers=headers)
    assert arrow.status_code == 200, arrow.text
    assert pa.ipc.open_stream(arrow.content).read_all().num_rows == count
    assert receipt_of(arrow).body["result_digest"] == hashlib.sha256(arrow.content).hexdigest()
    assert len(arrow.content) > 4096
    assert spooled
    assert getattr(spooled[0], "_rolled", False)  # Arrow streams are spooled: to disk past the spool size
    assert all(getattr(f, "closed", False) for f in spooled)  # and discarded once sent
    for fmt in ("parquet", "arrow", "csv"):
        cut = demo_client.post("/api/v1/query", params={"format": fmt}, json={**request, "limit": 7}, headers=headers)
        assert cut.headers["X-Sluice-Truncated"] == "true", fmt
        assert cut.headers["X-Sluice-Rows"] == "7", fmt
    parquet = demo_client.post(
        "/api/v1/query", params={"format": "parquet"}, json={**request, "limit": 7}, headers=headers
    )
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 7


def test_json_answers_are_held_to_their_own_limit(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.post("/api/v1/query", json={**SQL, "limit": 100_001}, headers=bearer(demo, "civil-analyst"))
    assert response.status_code == 422
    assert "csv, parquet or arrow" in response.json()["error"]["message"]
