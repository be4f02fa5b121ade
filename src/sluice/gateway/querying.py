"""Driving one governed query: authorise (a short write transaction that also reserves quota), run it in the
engine that holds the data with no transaction open, then record the delivery — or, on any refusal, record
the refusal in a transaction of its own, so that denied attempts are in the audit log too.

Files (CSV, Parquet, Arrow IPC) are written batch by batch from the engine into a spooled temporary file
(memory up to a few MiB, then disk), hashing the bytes as they are written: the receipt — sent in a header,
before the body — names the SHA-256 of exactly the bytes that follow, and memory stays flat however many
rows are exported.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, Field
from sqlglot import exp

from sluice.audit.log import canonical_json
from sluice.catalog.schemas import RESOURCE_CODE_PATTERN
from sluice.errors import Forbidden, Invalid, SluiceError
from sluice.gateway import engines, rows, service
from sluice.gateway.receipts import Receipt
from sluice.gateway.schemas import JSON_DEFAULT_ROWS, JSON_MAX_ROWS, Delivery, QueryRequest, QueryResult
from sluice.identity.actor import Actor
from sluice.platform import Platform
from sluice.settings import Settings

SPOOL_BYTES = 8 * 1024**2
EXPORTS = ".exports"  # transient export files inside the lake (the only folder the engine may write to)
CHUNK_BYTES = 1024**2
RECHECK_SECONDS = 1.0


def query(platform: Platform, actor: Actor, request: QueryRequest) -> QueryResult:
    """A governed query answered as JSON-ready rows."""
    row_cap = request.limit or JSON_DEFAULT_ROWS
    if row_cap > JSON_MAX_ROWS:
        raise Invalid(f"a JSON answer holds at most {JSON_MAX_ROWS} rows; ask for csv, parquet or arrow", field="limit")
    authorised = _authorise(platform, actor, request, Delivery.QUERY)
    return _answered(platform, actor, request, authorised, row_cap)


def _answered(
    platform: Platform, actor: Actor, request: QueryRequest, authorised: service.Authorised, row_cap: int
) -> QueryResult:
    """Run an authorised query in its engine (no transaction open), then record its delivery."""
    settings = platform.settings
    started = time.perf_counter()
    try:
        engine = engines.engine_for(authorised.target, settings)
        answer = engines.answer(engine, authorised.sql, _limits(settings, row_cap, settings.query_seconds))
    except SluiceError as exc:
        _refused(platform, actor, request, exc)
        raise
    rows = [[_plain(v) for v in row] for row in answer.rows]
    digest = result_digest(answer.columns, rows)
    receipt = _delivered(
        platform, actor, authorised, rows=len(rows), truncated=answer.truncated, digest=digest, started=started
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


@dataclass
class Export:
    """An answer as a file: its bytes (spooled), media type and name, row count, and the signed receipt of
    exactly these bytes. ``chunks()`` streams and then discards the file."""

    file: IO[bytes]
    size: int
    media_type: str
    filename: str
    receipt: Receipt
    rows: int
    truncated: bool
    recheck: Callable[[int], None] | None = None  # raises when a grant stopped while streaming (bytes sent so far)

    def chunks(self) -> Iterator[bytes]:
        """The file in chunks; every RECHECK_SECONDS the grants it is sent under are checked again, so a grant
        suspended or revoked mid-download stops it (the client sees a cut body: fewer bytes than announced)."""
        try:
            self.file.seek(0)
            sent, checked = 0, time.monotonic()
            while chunk := self.file.read(CHUNK_BYTES):
                if self.recheck is not None and time.monotonic() - checked >= RECHECK_SECONDS:
                    self.recheck(sent)
                    checked = time.monotonic()
                yield chunk
                sent += len(chunk)
        finally:
            self.file.close()

    def read(self) -> bytes:
        return b"".join(self.chunks())


MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "arrow": ("application/vnd.apache.arrow.stream", "arrows"),
}


class RowsPage(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    next: str | None = Field(description="Pass as _next for the following page; null on the last.")
    receipt: Receipt


def rows_page(platform: Platform, actor: Actor, code: str, params: Mapping[str, str]) -> RowsPage:
    """One page of rows (Datasette-style filters, keyset paging; ``gateway.rows``) through ``query``."""
    purpose = params.get("purpose", "open data")
    request: QueryRequest | None = None
    try:
        # The fields the page may filter on and the query they make are authorised in one transaction.
        with platform.transaction() as session:
            shown = service.fields_for(session, actor, code=code, purpose=purpose)
            built = rows.build(code, params, shown.fields, shown.keys)
            request = QueryRequest(sql=built.sql, purpose=purpose, limit=built.size + 1)
            authorised = service.authorise_query(session, actor, request=request, delivery=Delivery.QUERY)
    except SluiceError as exc:
        if request is not None:  # the gateway refused the page's query: evidence, as for any query
            _refused(platform, actor, request, exc)
        raise
    answer = _answered(platform, actor, request, authorised, built.size + 1)
    return RowsPage(
        columns=answer.columns,
        rows=answer.rows[: built.size],
        next=rows.next_cursor(answer.rows, answer.columns, built),
        receipt=answer.receipt,
    )


def export(
    platform: Platform, actor: Actor, request: QueryRequest, *, fmt: str, delivery: Delivery, bom: bool = False
) -> Export:
    """The same governed path as ``query``, answered as CSV, Parquet or an Arrow IPC stream of up to
    ``request.limit`` rows (default and most: the platform's export limit)."""
    if fmt not in MEDIA:
        raise Invalid(f"format {fmt!r}: use json, csv, parquet or arrow", field="format")
    settings = platform.settings
    row_cap = min(request.limit or settings.export_max_rows, settings.export_max_rows)
    authorised = _authorise(platform, actor, request, delivery)
    started = time.perf_counter()
    if authorised.target.kind == engines.EngineKind.DUCKDB and fmt in ("csv", "parquet") and not bom:
        return _export_by_copy(platform, actor, request, authorised, fmt=fmt, row_cap=row_cap, started=started)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=str(settings.data_dir))  # noqa: SIM115 - handed to the response, which closes it
    sink = _HashingFile(spool)
    try:
        engine = engines.engine_for(authorised.target, settings)
        batches = engine.batches(authorised.sql, _limits(settings, row_cap, settings.export_seconds))
        rows, truncated = _write(batches, fmt, sink, row_cap=row_cap, bom=bom)
    except SluiceError as exc:
        sink.file.close()
        _refused(platform, actor, request, exc)
        raise
    except BaseException:
        sink.file.close()
        raise
    receipt = _delivered(
        platform, actor, authorised, rows=rows, truncated=truncated, digest=sink.digest.hexdigest(), started=started
    )
    return _export(
        platform,
        actor,
        sink.file,
        fmt=fmt,
        authorised=authorised,
        receipt=receipt,
        size=sink.size,
        rows=rows,
        truncated=truncated,
    )


def _export_by_copy(
    platform: Platform,
    actor: Actor,
    request: QueryRequest,
    authorised: service.Authorised,
    *,
    fmt: str,
    row_cap: int,
    started: float,
) -> Export:
    """The lake's files written by DuckDB itself (parallel, constant memory) into ``lake/.exports``, hashed,
    then opened and unlinked at once: the open file is all that is left, and it goes when it is closed."""
    settings = platform.settings
    folder = settings.lake_dir / EXPORTS
    folder.mkdir(exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.{fmt}"
    engine = engines.engine_for(authorised.target, settings)
    assert isinstance(engine, engines.DuckDBEngine)
    limits = _limits(settings, row_cap, settings.export_seconds)
    try:
        written = engine.copy_to(authorised.sql, limits, fmt, path)
        truncated = written > row_cap
        if truncated:  # rare: write it again with exactly the rows allowed
            written = engine.copy_to(authorised.sql, replace(limits, row_cap=row_cap - 1), fmt, path)
        file = path.open("rb")
    except SluiceError as exc:
        path.unlink(missing_ok=True)
        _refused(platform, actor, request, exc)
        raise
    finally:
        path.unlink(missing_ok=True)
    digest = hashlib.sha256()
    while chunk := file.read(CHUNK_BYTES):
        digest.update(chunk)
    receipt = _delivered(
        platform, actor, authorised, rows=written, truncated=truncated, digest=digest.hexdigest(), started=started
    )
    return _export(
        platform,
        actor,
        file,
        fmt=fmt,
        authorised=authorised,
        receipt=receipt,
        size=file.tell(),
        rows=written,
        truncated=truncated,
    )


def _delivered(
    platform: Platform,
    actor: Actor,
    authorised: service.Authorised,
    *,
    rows: int,
    truncated: bool,
    digest: str,
    started: float,
) -> Receipt:
    """Record the delivery (its own transaction, after the engine ran) and return its signed receipt."""
    with platform.transaction() as session:
        return service.record_delivery(
            session,
            actor,
            authorised=authorised,
            rows=rows,
            truncated=truncated,
            result_digest=digest,
            seconds=time.perf_counter() - started,
        )


def _export(
    platform: Platform,
    actor: Actor,
    file: IO[bytes],
    *,
    fmt: str,
    authorised: service.Authorised,
    receipt: Receipt,
    size: int,
    rows: int,
    truncated: bool,
) -> Export:
    media_type, suffix = MEDIA[fmt]
    name = "-".join(authorised.resources) or "answer"
    recheck = _recheck(platform, actor, authorised) if authorised.grants else None
    return Export(file, size, media_type, f"{name}.{suffix}", receipt, rows, truncated, recheck)


def _recheck(platform: Platform, actor: Actor, authorised: service.Authorised) -> Callable[[int], None]:
    def check(sent: int) -> None:
        with platform.reading() as session:
            problem = service.stopped_grant(session, actor, grants=list(authorised.grants))
        if problem is None:
            return
        with platform.transaction() as session:
            service.record_stop(session, actor, authorised=authorised, sent=sent, reason=problem)
        raise Forbidden(f"{problem}; the download was stopped", grants=authorised.grants)

    return check


def _authorise(platform: Platform, actor: Actor, request: QueryRequest, delivery: Delivery) -> service.Authorised:
    try:
        with platform.transaction() as session:
            return service.authorise_query(session, actor, request=request, delivery=delivery)
    except SluiceError as exc:
        _refused(platform, actor, request, exc)
        raise


def _refused(platform: Platform, actor: Actor, request: QueryRequest, error: SluiceError) -> None:
    with platform.transaction() as session:
        service.record_refusal(session, actor, request=request, error=error)


def _limits(settings: Settings, row_cap: int, seconds: float) -> engines.Limits:
    return engines.Limits(
        row_cap=row_cap, seconds=seconds, memory=settings.query_memory_limit, threads=settings.query_threads
    )


class _HashingFile:
    """A write-only file that hashes what passes through it (what pyarrow's writers write to)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        chunk = bytes(data)
        self.digest.update(chunk)
        self.size += len(chunk)
        return self.file.write(chunk)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.file.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True  # the spooled file stays open for the response


def _write(
    batches: Iterator[pa.RecordBatch], fmt: str, sink: _HashingFile, *, row_cap: int, bom: bool
) -> tuple[int, bool]:
    """Write up to ``row_cap`` rows; return the rows written and whether more were left out."""
    if fmt == "csv" and bom:
        sink.write(b"\xef\xbb\xbf")  # Excel on Windows reads UTF-8 CSV correctly only with a BOM
    out = pa.PythonFile(sink, mode="w")
    writer: Any = None
    written = 0
    truncated = False
    try:
        for batch in batches:
            if writer is None:
                writer = _writer(fmt, out, batch.schema)
            room = row_cap - written
            if batch.num_rows > room:
                truncated = True
                batch = batch.slice(0, room)  # noqa: PLW2901 - the last batch, cut at the cap
            if batch.num_rows:
                writer.write_batch(batch) if fmt != "parquet" else writer.write_batch(batch, row_group_size=100_000)
                written += batch.num_rows
            if truncated:
                break
        if writer is None:
            raise Invalid("the engine returned no columns")
    finally:
        if writer is not None:
            writer.close()
    return written, truncated


def _writer(fmt: str, out: pa.NativeFile, schema: pa.Schema) -> Any:
    if fmt == "csv":
        return pacsv.CSVWriter(out, schema)
    if fmt == "json":
        return _JsonRowsWriter(out)
    if fmt == "parquet":
        return pq.ParquetWriter(out, schema)
    return pa.ipc.new_stream(out, schema)


class _JsonRowsWriter:
    """A download as a JSON array of objects, one per row (dates as ISO text, decimals as exact text), written
    batch by batch: the file is never held in memory whole."""

    def __init__(self, out: pa.NativeFile) -> None:
        self._out = out
        self._first = True
        out.write(b"[")

    def write_batch(self, batch: pa.RecordBatch) -> None:
        parts = []
        for row in batch.to_pylist():
            parts.append(b"\n" if self._first else b",\n")
            parts.append(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False).encode("utf-8"))
            self._first = False
        self._out.write(b"".join(parts))

    def close(self) -> None:
        self._out.write(b"\n]\n")


def download(
    platform: Platform,
    actor: Actor,
    code: str,
    *,
    fmt: str,
    purpose: str,
    bom: bool = False,
    limit: int | None = None,
) -> Export:
    """A whole resource as the caller's grant shows it (its fields, masked, its rows), by the download delivery
    mode: ``SELECT * FROM <code>`` through ``export``."""
    if not re.fullmatch(RESOURCE_CODE_PATTERN, code):
        raise Invalid(f"{code!r} is not a resource code", field="code")
    schema, name = code.split(".", 1)
    sql = exp.select("*").from_(exp.table_(name, db=schema)).sql(dialect="duckdb")
    request = QueryRequest(sql=sql, purpose=purpose, limit=limit)
    return export(platform, actor, request, fmt=fmt, delivery=Delivery.DOWNLOAD, bom=bom)


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
