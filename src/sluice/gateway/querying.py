"""Driving one governed query: authorise (a short write transaction that also reserves quota), run it in
the locked-down engine with no transaction open, then record the delivery — or, on any refusal, record the
refusal in a transaction of its own, so that denied attempts are in the audit log too."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sluice.audit.log import canonical_json
from sluice.errors import Invalid, SluiceError
from sluice.gateway import engine, service
from sluice.gateway.receipts import Receipt
from sluice.gateway.schemas import Delivery, QueryRequest, QueryResult
from sluice.identity.actor import Actor
from sluice.platform import Platform

TIME_LIMIT_SECONDS = 30.0


def query(platform: Platform, actor: Actor, request: QueryRequest) -> QueryResult:
    try:
        with platform.transaction() as session:
            authorised = service.authorise_query(session, actor, request=request)
        started = time.perf_counter()
        answer = engine.run(
            authorised.sql, platform.settings.lake_dir, row_cap=request.limit, seconds=TIME_LIMIT_SECONDS
        )
        elapsed = time.perf_counter() - started
    except SluiceError as exc:
        with platform.transaction() as session:
            service.record_refusal(session, actor, request=request, error=exc)
        raise
    rows = [[_plain(v) for v in row] for row in answer.rows]
    digest = result_digest(answer.columns, rows)
    with platform.transaction() as session:
        receipt = service.record_delivery(
            session,
            actor,
            authorised=authorised,
            rows=len(rows),
            truncated=answer.truncated,
            result_digest=digest,
            seconds=elapsed,
        )
    return QueryResult(
        columns=answer.columns,
        rows=rows,
        row_count=len(rows),
        truncated=answer.truncated,
        grants=authorised.grants,
        query_digest=authorised.query_digest,
        result_digest=digest,
        audit_event=int(receipt.body["audit_event"]),
        receipt=receipt,
    )


@dataclass(frozen=True)
class Export:
    """An answer as a file: its bytes, media type and name, and the signed receipt (of these bytes)."""

    content: bytes
    media_type: str
    filename: str
    receipt: Receipt
    truncated: bool


MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "arrow": ("application/vnd.apache.arrow.stream", "arrows"),
}


def export(
    platform: Platform, actor: Actor, request: QueryRequest, *, fmt: str, delivery: Delivery, bom: bool = False
) -> Export:
    """The same governed path as ``query``, answered as CSV, Parquet or an Arrow IPC stream; the result
    digest in the audit event and the receipt is the SHA-256 of exactly the bytes returned."""
    if fmt not in MEDIA:
        raise Invalid(f"format {fmt!r}: use json, csv, parquet or arrow", field="format")
    try:
        with platform.transaction() as session:
            authorised = service.authorise_query(session, actor, request=request, delivery=delivery)
        started = time.perf_counter()
        table, truncated = engine.run_arrow(
            authorised.sql, platform.settings.lake_dir, row_cap=request.limit, seconds=TIME_LIMIT_SECONDS
        )
        elapsed = time.perf_counter() - started
    except SluiceError as exc:
        with platform.transaction() as session:
            service.record_refusal(session, actor, request=request, error=exc)
        raise
    content = _encode(table, fmt, bom=bom)
    with platform.transaction() as session:
        receipt = service.record_delivery(
            session,
            actor,
            authorised=authorised,
            rows=table.num_rows,
            truncated=truncated,
            result_digest=hashlib.sha256(content).hexdigest(),
            seconds=elapsed,
        )
    media_type, suffix = MEDIA[fmt]
    name = "-".join(authorised.resources) or "answer"
    return Export(content, media_type, f"{name}.{suffix}", receipt, truncated)


def _encode(table: pa.Table, fmt: str, *, bom: bool) -> bytes:
    sink = io.BytesIO()
    if fmt == "csv":
        if bom:
            sink.write(b"\xef\xbb\xbf")  # Excel on Windows reads UTF-8 CSV correctly only with a BOM
        pacsv.write_csv(table, sink)
    elif fmt == "parquet":
        pq.write_table(table, sink)
    else:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return sink.getvalue()


def result_digest(columns: list[str], rows: list[list[Any]]) -> str:
    """SHA-256 of the answer as canonical JSON: what the audit event and the receipt name."""
    return hashlib.sha256(canonical_json({"columns": columns, "rows": rows}).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, decimals as text (exact), the rest as is."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
