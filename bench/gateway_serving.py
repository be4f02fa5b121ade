"""Serving the 1 000 000-row residents register through the gateway, against Datasette and raw DuckDB.

One platform (a temporary folder, or the copy kept in $SLUICE_BENCH_KEEP) holds ``psb.residents`` ingested
from the 1 000 000-row demo file (``bench.lake_ingest.residents_file``: the sorted Parquet version, 100 000-row
groups) and one grant to another department, as a verification use: every field, ``id_number`` unmasked (so
a lookup by it can use the row groups' min/max statistics), ``name`` NAME_SURNAME, ``phone`` PHONE_3_4,
``address`` MASK, no row filter, no quota, delivery by query and download. Masks are on and the audit is on
(every answer is an audit event with a signed receipt): what a department's verification service would use.

(a) Point lookups by ``id_number`` at 16 connections. Load from wrk (2 threads, Debian's ``wrk``) with one
Lua script for every HTTP target, each request a random existing ID from a list of 20 000 written to a file;
each target gets the same warm-up (5 s, discarded) and the same measured run (15 s): requests/s, p50, p99, and
non-2xx answers. Targets: Sluice (``sluice serve``, a separate process, one worker like Datasette, and two)
``GET /api/v1/resources/psb.residents/rows?id_number__exact=…&purpose=…`` and ``POST /api/v1/query`` with
``SELECT * FROM psb.residents WHERE id_number = '…'``; Datasette 0.65 serving the same rows from SQLite
with an index on ``id_number``, immutable (``datasette serve -i``), ``/residents/residents.json?
id_number__exact=…`` (raw values: no masks, no audit, no authentication). The floor beside them: raw DuckDB
in this process, one connection, one thread, ``SELECT * FROM read_parquet(version) WHERE id_number = ?``,
lookups/s. (Sluice's lake engine keeps the serving version in memory with an index on its key — the serving
cache, ``SLUICE_SERVING_CACHE_ROWS`` — so its engine is not the Parquet scan this floor measures.) Goal:
Sluice's lookups/s (one worker) ≥ Datasette's.

(b) Exporting the whole resource: ``GET /api/v1/resources/psb.residents/download?format=parquet|csv`` as the
grant shows it (masked), timed to the last byte and saved to a file; the rows received are counted (Parquet
metadata; CSV lines) and ``X-Sluice-Truncated`` is reported. The bench asks for ``limit=1000000``; should
that be refused (before streamed exports the route refused a limit above 100 000 and cut the answer there),
it asks for the default and says so. Beside it: raw DuckDB ``COPY (SELECT * FROM read_parquet(version))
TO … (FORMAT parquet|csv)`` (unmasked, default threads), DuckDB running the gateway's governed (masked) SQL
into the same COPY, and Datasette's CSV stream (``/residents/residents.csv?_stream=on``, with
``max_csv_mb 0``: its default 100 MB cap cuts the file silently). Ratio = Sluice rows/s ÷ raw DuckDB rows/s
(= DuckDB seconds / Sluice seconds when every row came); goal ≥ 0.5, met only by a full export.

(c) The gateway's own work per lookup, in this process (no HTTP): ``service.authorise_query`` (parse, check,
grant, quota reservation, rewrite, in a write transaction) and ``service.record_delivery`` (audit event and
signed receipt, in a write transaction), timed around each call including its commit, over many lookups of
random IDs; beside them the rest of ``querying.query`` (the engine: a cursor on the process's locked-down DuckDB
running the governed SQL; the JSON rows and their digest) and raw DuckDB's lookup. The steps are timed inside
the real ``querying.query``: its write transactions are timed from start to commit and named by the use case
called inside them (the bench stops, saying so, if it can no longer tell them apart). Goal: authorise +
record ≤ 2 ms p50. With ``SLUICE_BENCH_PROFILE=1`` the whole in-process path (``querying.query``) is also run
under cProfile, on IDs not looked up before, and its top entries printed.

Run: `make bench` (all) or `.venv/bin/python -m bench gateway_serving`. Needs ``wrk`` (`apt-get install wrk`)
and Datasette in the virtual environment (`pip install -e '.[bench]'`); without Datasette its rows are
skipped. Files are cached in $SLUICE_BENCH_DIR (default /tmp/sluice-bench); with `SLUICE_BENCH_KEEP=<folder>`
the loaded platform is kept there and reused. SLUICE_BENCH_SECONDS / SLUICE_BENCH_WARMUP change the wrk
durations, SLUICE_BENCH_ROUNDS the in-process lookups (default 1000).
"""

from __future__ import annotations

import cProfile
import functools
import io
import json
import os
import pstats
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from bench.lake_ingest import CACHE, RESIDENTS, SYSTEM, platform_with_residents, residents_file
from sluice.catalog.queries import find_resource
from sluice.gateway import engines, querying, service
from sluice.gateway.masks import MaskKind
from sluice.gateway.schemas import Delivery, GrantCreate, MaskSpec, QueryRequest
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.authn import check_token
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.lake.ingestion import ingest
from sluice.lake.queries import data_file, serving_version
from sluice.lake.schemas import IngestOptions, OnError, VersionStatus
from sluice.platform import Platform, initialise
from sluice.settings import Settings
from sluice.sharing import service as sharing

PURPOSE = "identity verification"
CONSUMER = "civil"
ANALYST = "bench-verifier"
CODE = RESIDENTS.code
CONNECTIONS = 16
WRK_THREADS = 2
WARM_UP = int(os.environ.get("SLUICE_BENCH_WARMUP", "5"))
SECONDS = int(os.environ.get("SLUICE_BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("SLUICE_BENCH_ROUNDS", "1000"))
SAMPLE_IDS = 20_000
FULL = 1_000_000  # what a full export asks for
GOAL_OVERHEAD_MS = 2.0
GOAL_EXPORT_RATIO = 0.5
BIN = Path(sys.executable).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"

LUA = """
local ids = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  math.randomseed(seed * 7919 + os.time())
end
function request()
  local id = ids[math.random(#ids)]
  local body = nil
  if BODY ~= nil then body = table.concat(BODY, id) end
  return wrk.format(METHOD, table.concat(PATH, id), HEADERS, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, "status_errors": %.0f, '
      .. '"socket_errors": %.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


# --- the platform ------------------------------------------------------------------------------------------


def load_platform(folder: Path) -> Platform:
    """psb.residents at 1 000 000 rows, the consumer department, its analyst and the verification grant."""
    platform = platform_with_residents(folder)
    version = ingest(
        platform,
        SYSTEM,
        code=CODE,
        source=residents_file(100),
        options=IngestOptions(on_error=OnError.QUARANTINE),
    )
    if version.status != VersionStatus.PUBLISHED:
        raise SystemExit(f"the residents version was not published: {version.status}")
    at = platform.clock.now()
    with platform.transaction() as session:
        identity.create_organisation(
            session,
            SYSTEM,
            data=OrganisationCreate(
                code=CONSUMER, name_zh="市民政局", name_en="Civil affairs", kind=OrgKind.DEPARTMENT
            ),
        )
        identity.create_user(
            session,
            SYSTEM,
            data=UserCreate(username=ANALYST, display_name="Bench verifier", org_code=CONSUMER, roles=[Role.CONSUMER]),
        )
        sharing.create_grant(
            session,
            SYSTEM,
            data=GrantCreate(
                resource=CODE,
                assignee=CONSUMER,
                fields=[f.name for f in RESIDENTS.fields],
                masks={
                    "name": MaskSpec(kind=MaskKind.NAME_SURNAME),
                    "phone": MaskSpec(kind=MaskKind.PHONE_3_4),
                    "address": MaskSpec(kind=MaskKind.MASK),
                },
                row_filter=None,
                purpose=PURPOSE,
                valid_from=at - timedelta(days=1),
                valid_until=at + timedelta(days=3650),
                quota=None,
                delivery=[Delivery.QUERY, Delivery.DOWNLOAD],
            ),
        )
    return platform


def prepared(folder: Path) -> tuple[Platform, str]:
    """The loaded platform in ``folder`` (built, or copied from $SLUICE_BENCH_KEEP) and how it came."""
    keep = os.environ.get("SLUICE_BENCH_KEEP")
    kept = Path(keep) / "gateway-1m" if keep else None
    settings = Settings(data_dir=folder)
    if kept is not None and (kept / "sluice.db").exists():
        shutil.copytree(kept, folder)
        initialise(settings)  # migrations added since are applied to the copy
        return Platform.open(settings), "reused"
    started = time.perf_counter()
    platform = load_platform(folder)
    how = f"loaded in {time.perf_counter() - started:.0f} s"
    if kept is not None:
        platform.close()
        shutil.copytree(folder, kept)
        platform = Platform.open(settings)
    return platform, how


def new_token(platform: Platform) -> str:
    with platform.transaction() as session:
        return identity.create_token(session, SYSTEM, username=ANALYST, name="bench").token


def analyst(platform: Platform, token: str) -> Actor:
    with platform.reading() as session:
        return check_token(session, token).actor


def version_file(platform: Platform) -> Path:
    with platform.reading() as session:
        version = serving_version(session, find_resource(session, CODE).id)
        assert version is not None
        return data_file(platform.settings.lake_dir, version)


def sample_ids(parquet: Path, into: Path) -> list[str]:
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT id_number FROM read_parquet('{parquet}') ORDER BY hash(id_number) LIMIT {SAMPLE_IDS}"
        ).fetchall()
    ids = [str(r[0]) for r in rows]
    into.write_text("\n".join(ids) + "\n", encoding="ascii")
    return ids


def sqlite_copy(parquet: Path) -> Path:
    """The same rows in SQLite (all TEXT, as a CSV import would give), indexed on id_number, for Datasette."""
    path = CACHE / "datasette" / "residents.db"
    rows = pq.read_metadata(parquet).num_rows
    if path.exists():
        con = sqlite3.connect(path)
        try:
            if con.execute("SELECT count(*) FROM residents").fetchone() == (rows,):
                return path
        finally:
            con.close()
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"writing {path} (once) …", flush=True)
    names = [f.name for f in RESIDENTS.fields]
    work = path.with_suffix(".tmp")
    work.unlink(missing_ok=True)
    con = sqlite3.connect(work)
    con.execute(f"CREATE TABLE residents ({', '.join(f'{n} TEXT' for n in names)})")
    with duckdb.connect() as source:
        source.execute(f"SELECT {', '.join(f'CAST({n} AS VARCHAR)' for n in names)} FROM read_parquet('{parquet}')")
        while batch := source.fetchmany(50_000):
            con.executemany(f"INSERT INTO residents VALUES ({', '.join('?' for _ in names)})", batch)
    con.execute("CREATE INDEX residents_id_number ON residents (id_number)")
    con.commit()
    con.close()
    work.rename(path)
    return path


# --- processes and HTTP -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def peak_rss_mib(self) -> float | None:
        """VmHWM of the server process (its own; not of uvicorn's worker processes when there are several)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


@contextmanager
def serving(name: str, command: list[str], ready_path: str, env: dict[str, str], folder: Path) -> Iterator[Server]:
    port = free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    server = Server(name, process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped at start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(server.base + ready_path, timeout=5) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def call(
    url: str, *, method: str = "GET", token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int  # non-2xx answers, socket errors and timeouts

    @property
    def valid(self) -> bool:
        return self.requests > 0 and self.failed == 0


def lua_string(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def lua_script(
    folder: Path,
    name: str,
    *,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None,
) -> Path:
    """A wrk script sending ``method path`` (and ``body``), ``{id}`` in them replaced by a random ID each time."""

    def parts(text: str) -> str:
        return "{" + ", ".join(lua_string(part) for part in text.split("{id}")) + "}"

    header_table = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items())
    lines = [
        f"METHOD = {lua_string(method)}",
        f"PATH = {parts(path)}",
        f"HEADERS = {{{header_table}}}",
        f"BODY = {parts(body) if body is not None else 'nil'}",
    ]
    script = folder / f"{name}.lua"
    script.write_text("\n".join(lines) + LUA, encoding="utf-8")
    return script


def wrk(base: str, script: Path, ids_file: Path) -> Load:
    """The warm-up run (discarded), then the measured run, with the same script."""

    def run(seconds: int) -> dict[str, float]:
        done = subprocess.run(
            [
                WRK,
                f"-t{WRK_THREADS}",
                f"-c{CONNECTIONS}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
                "--",
                str(ids_file),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith("WRK ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
        parsed: dict[str, float] = json.loads(line[4:])
        return parsed

    run(WARM_UP)
    result = run(SECONDS)
    return Load(
        requests_per_second=result["requests"] / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        requests=int(result["requests"]),
        failed=int(result["status_errors"] + result["socket_errors"]),
    )


@dataclass(frozen=True)
class Download:
    seconds: float
    rows: int
    mib: float
    note: str


def download(url: str, into: Path, fmt: str, token: str | None = None) -> tuple[int, float, dict[str, str], int]:
    """Status, seconds to the last byte, headers, newline count; the body saved to ``into``."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310
    newlines = 0
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=900) as answer, into.open("wb") as out:  # noqa: S310
            while chunk := answer.read(1 << 20):
                out.write(chunk)
                if fmt == "csv":
                    newlines += chunk.count(b"\n")
            return answer.status, time.perf_counter() - started, dict(answer.headers), newlines
    except urllib.error.HTTPError as exc:
        into.write_bytes(exc.read())
        return exc.code, time.perf_counter() - started, dict(exc.headers), 0


def rows_in(path: Path, fmt: str, newlines: int) -> int:
    if fmt == "parquet":
        return int(pq.read_metadata(path).num_rows)
    return max(newlines - 1, 0)  # the header line; the demo's values hold no line breaks


def sluice_export(base: str, token: str, fmt: str, folder: Path) -> Download:
    target = folder / f"sluice-export.{fmt}"
    query = {"format": fmt, "purpose": PURPOSE, "limit": str(FULL)}
    url = f"{base}/api/v1/resources/{CODE}/download?"
    status, seconds, headers, newlines = download(url + urllib.parse.urlencode(query), target, fmt, token)
    notes = []
    if status == 422:
        notes.append(f"limit={FULL} refused (422)")
        del query["limit"]
        status, seconds, headers, newlines = download(url + urllib.parse.urlencode(query), target, fmt, token)
    if status != 200:
        notes.append(f"HTTP {status}: {target.read_bytes()[:300]!r}")
        return Download(seconds, 0, target.stat().st_size / 2**20, "; ".join(notes))
    truncated = {k.lower(): v for k, v in headers.items()}.get("x-sluice-truncated", "?")
    notes.append(f"X-Sluice-Truncated: {truncated}")
    return Download(seconds, rows_in(target, fmt, newlines), target.stat().st_size / 2**20, "; ".join(notes))


# --- in-process ---------------------------------------------------------------------------------------------


def raw_lookups(parquet: Path, ids: list[str], seconds: float = 5.0) -> list[float]:
    """Raw DuckDB: one connection, one thread, the lookup on the version's Parquet file; seconds per lookup."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    sql = f"SELECT * FROM read_parquet('{parquet}') WHERE id_number = ?"
    for identifier in ids[:20]:
        con.execute(sql, [identifier]).fetchall()
    samples: list[float] = []
    until = time.perf_counter() + seconds
    index = 0
    while time.perf_counter() < until or len(samples) < 100:
        identifier = ids[index % len(ids)]
        index += 1
        started = time.perf_counter()
        found = con.execute(sql, [identifier]).fetchall()
        samples.append(time.perf_counter() - started)
        assert len(found) == 1, identifier
    con.close()
    return samples


def lookup_request(identifier: str) -> QueryRequest:
    return QueryRequest(sql=f"SELECT * FROM {CODE} WHERE id_number = '{identifier}'", purpose=PURPOSE, limit=10)


@dataclass
class Spans:
    label: str | None = None
    taken: dict[str, float] = field(default_factory=dict)


@contextmanager
def instrumented(platform: Platform) -> Iterator[Spans]:
    """Time the real ``querying.query`` step by step: each write transaction it opens, labelled by the gateway
    use case called inside it (authorise_query or record_delivery), from its start to its commit."""
    spans = Spans()
    transaction = platform.transaction

    @contextmanager
    def timed_transaction() -> Iterator[Session]:
        spans.label = None
        started = time.perf_counter()
        with transaction() as session:
            yield session
        if spans.label is not None:
            spans.taken[spans.label] = spans.taken.get(spans.label, 0.0) + time.perf_counter() - started

    def labelled(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            spans.label = label
            return function(*args, **kwargs)

        return wrapper

    originals = {name: getattr(service, name) for name in ("authorise_query", "record_delivery")}
    platform.transaction = timed_transaction  # type: ignore[method-assign]
    for name, function in originals.items():
        setattr(service, name, labelled(name.split("_")[0], function))
    try:
        yield spans
    finally:
        for name, function in originals.items():
            setattr(service, name, function)
        del platform.transaction  # the class's method again


def steps(platform: Platform, actor: Actor, ids: list[str], rounds: int) -> dict[str, list[float]]:
    """Seconds of each step of ``rounds`` governed lookups (after 20 not counted)."""
    timings: dict[str, list[float]] = {
        k: [] for k in ("fields_for", "authorise", "record", "overhead", "rest", "query")
    }
    with instrumented(platform) as spans:
        for number in range(rounds + 20):
            request = lookup_request(ids[number % len(ids)])
            started = time.perf_counter()
            with platform.reading() as session:
                service.fields_for(session, actor, code=CODE, purpose=PURPOSE)
            between = time.perf_counter()
            spans.taken = {}
            answer = querying.query(platform, actor, request)
            ended = time.perf_counter()
            if answer.row_count != 1:
                raise SystemExit(f"the lookup of {ids[number % len(ids)]} gave {answer.row_count} rows")
            if set(spans.taken) != {"authorise", "record"}:
                raise SystemExit(
                    f"could not tell the steps apart (timed: {sorted(spans.taken)}): querying.query no longer calls "
                    "service.authorise_query and service.record_delivery in platform.transaction(); update the bench"
                )
            if number < 20:
                continue
            overhead = spans.taken["authorise"] + spans.taken["record"]
            for name, seconds in (
                ("fields_for", between - started),
                ("authorise", spans.taken["authorise"]),
                ("record", spans.taken["record"]),
                ("overhead", overhead),
                ("rest", ended - between - overhead),
                ("query", ended - between),
            ):
                timings[name].append(seconds)
    return timings


def profile(platform: Platform, actor: Actor, ids: list[str], rounds: int = 300) -> str:
    """cProfile of ``rounds`` lookups of IDs not looked up before (no plan cached for their query text)."""
    fresh = ids[ROUNDS + 20 :] or ids
    profiler = cProfile.Profile()
    profiler.enable()
    for number in range(rounds):
        querying.query(platform, actor, lookup_request(fresh[number % len(fresh)]))
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    return text.getvalue()


def p(samples: list[float], q: float) -> float:
    """The q-quantile of ``samples`` (seconds), in milliseconds."""
    ordered = sorted(samples)
    if q == 0.5:
        return statistics.median(ordered) * 1000
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def raw_copy(select_sql: str, into: Path, fmt: str) -> float:
    con = duckdb.connect()
    engines.register_functions(con)  # the governed SQL's masks call them (a raw copy calls none)
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    started = time.perf_counter()
    con.execute(f"COPY ({select_sql}) TO '{into}' ({options})")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def governed_export_sql(platform: Platform, actor: Actor) -> str | None:
    """The SQL the gateway runs for a download of the whole resource (masks applied, in their export form), over
    the version's Parquet file instead of the serving cache's table; None if it no longer says where it reads."""
    with platform.transaction() as session:
        authorised = service.authorise_query(
            session,
            actor,
            request=QueryRequest(sql=f"SELECT * FROM {CODE}", purpose=PURPOSE, limit=100_000),
            delivery=Delivery.DOWNLOAD,
        )
    sql = getattr(authorised, "sql", None)
    tables = getattr(getattr(authorised, "target", None), "tables", ())
    if not isinstance(sql, str) or len(tables) != 1:
        return None
    table = tables[0]
    sql, found = re.subn(rf"\b{re.escape(table.name)}\b", f"read_parquet('{table.path}')", sql)
    return sql if found or "read_parquet(" in sql.lower() else None


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class InProcess:
    how: str
    rows: int
    row_groups: int
    mib: float
    token: str
    parquet: Path
    ids: list[str]
    ids_file: Path
    raw: list[float]
    steps: dict[str, list[float]]
    governed_sql: str | None
    profiled: str | None


def in_process(folder: Path) -> InProcess:
    """Set up (or reuse) the platform, then everything measured in this process: the raw DuckDB lookup and
    the gateway's steps. The platform is closed before any server opens it."""
    platform, how = prepared(folder / "data")
    try:
        token = new_token(platform)
        actor = analyst(platform, token)
        parquet = version_file(platform)
        ids_file = folder / "ids.txt"
        ids = sample_ids(parquet, ids_file)
        meta = pq.read_metadata(parquet)
        raw = raw_lookups(parquet, ids)
        timings = steps(platform, actor, ids, ROUNDS)
        profiled = profile(platform, actor, ids) if os.environ.get("SLUICE_BENCH_PROFILE") else None
        governed_sql = governed_export_sql(platform, actor)
    finally:
        platform.close()
    return InProcess(
        how=how,
        rows=meta.num_rows,
        row_groups=meta.num_row_groups,
        mib=parquet.stat().st_size / 2**20,
        token=token,
        parquet=parquet,
        ids=ids,
        ids_file=ids_file,
        raw=raw,
        steps=timings,
        governed_sql=governed_sql,
        profiled=profiled,
    )


@dataclass
class OverHttp:
    loads: dict[str, Load]
    exports: dict[str, Download]
    sample: str
    peak_mib: float | None


def over_http(folder: Path, setup: InProcess) -> OverHttp:
    """Sluice served by `sluice serve` (one worker, then two): lookups by /rows and /query; exports (one worker)."""
    env = {"SLUICE_DATA_DIR": str(folder / "data")}
    purpose = urllib.parse.quote(PURPOSE)
    auth = {"Authorization": f"Bearer {setup.token}"}
    rows_path = f"/api/v1/resources/{CODE}/rows?purpose={purpose}&id_number__exact="
    rows_script = lua_script(folder, "rows", method="GET", path=rows_path + "{id}", headers=auth, body=None)
    lookup = lookup_request("{id}")
    query_script = lua_script(
        folder,
        "query",
        method="POST",
        path="/api/v1/query",
        headers={**auth, "Content-Type": "application/json"},
        body=json.dumps({"sql": lookup.sql, "purpose": lookup.purpose, "limit": lookup.limit}),
    )
    made = OverHttp({}, {}, "", None)
    for workers in (1, 2):
        command = [sys.executable, "-m", "sluice", "serve", "--workers", str(workers)]
        with serving(f"sluice-w{workers}", command, "/healthz", env, folder) as server:
            status, _, body = call(server.base + rows_path + setup.ids[0], token=setup.token)
            page = json.loads(body)
            if status != 200 or len(page.get("rows", [])) != 1:
                raise SystemExit(f"/rows lookup answered {status}: {body[:500]!r}")
            made.sample = json.dumps(dict(zip(page["columns"], page["rows"][0], strict=True)), ensure_ascii=False)
            one = lookup_request(setup.ids[1]).model_dump()
            status, _, body = call(f"{server.base}/api/v1/query", method="POST", token=setup.token, body=one)
            if status != 200 or json.loads(body)["row_count"] != 1:
                raise SystemExit(f"/query lookup answered {status}: {body[:500]!r}")
            made.loads[f"rows-w{workers}"] = wrk(server.base, rows_script, setup.ids_file)
            made.loads[f"query-w{workers}"] = wrk(server.base, query_script, setup.ids_file)
            if workers == 1:
                for fmt in ("parquet", "csv"):
                    made.exports[fmt] = sluice_export(server.base, setup.token, fmt, folder)
                made.peak_mib = server.peak_rss_mib()
    return made


def datasette(folder: Path, setup: InProcess) -> tuple[Load, Download] | None:
    """Datasette on the same rows in SQLite (index on id_number, immutable): lookups, then its CSV stream."""
    executable = BIN / "datasette"
    if not executable.exists():
        return None
    database = sqlite_copy(setup.parquet)
    command = [str(executable), "serve", "-i", str(database), "--setting", "max_csv_mb", "0"]
    with serving("datasette", command, "/-/versions.json", {}, folder) as server:
        status, _, body = call(f"{server.base}/residents/residents.json?id_number__exact={setup.ids[0]}")
        if status != 200 or len(json.loads(body)["rows"]) != 1:
            raise SystemExit(f"Datasette lookup answered {status}: {body[:500]!r}")
        path = "/residents/residents.json?id_number__exact={id}"
        script = lua_script(folder, "datasette", method="GET", path=path, headers={}, body=None)
        lookups = wrk(server.base, script, setup.ids_file)
        target = folder / "datasette.csv"
        url = f"{server.base}/residents/residents.csv?_stream=on&_size=max"
        status, seconds, _, newlines = download(url, target, "csv")
        note = "" if status == 200 else f"HTTP {status}"
        return lookups, Download(seconds, rows_in(target, "csv", newlines), target.stat().st_size / 2**20, note)


def line(label: str, value: str, beside: str = "", ratio: str = "") -> None:
    print(f"  {label:<64} {value:>38}  {beside:<38} {ratio}".rstrip())


def show_load(label: str, load: Load, peer: Load | None, floor: float) -> None:
    line(
        label,
        f"{load.requests_per_second:6,.0f} req/s  p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms",
        f"{load.requests:,} requests, {load.failed} failed",
        ("INVALID (failures) " if not load.valid else "")
        + (f"{load.requests_per_second / peer.requests_per_second:.2f}x Datasette, " if peer else "")
        + f"{load.requests_per_second / floor:.2f}x raw DuckDB",
    )


def report(setup: InProcess, http: OverHttp, peer: tuple[Load, Download] | None, copies: dict[str, float]) -> None:
    raw_rate = len(setup.raw) / sum(setup.raw)
    peer_load = peer[0] if peer else None
    print(f"\n(a) point lookup by id_number, {CONNECTIONS} connections; a Sluice answer: {http.sample}")
    line("raw DuckDB in process, 1 thread (the floor)", f"{raw_rate:6,.0f} lookups/s  p50 {p(setup.raw, 0.5):6.2f} ms")
    for workers in (1, 2):
        show_load(f"Sluice GET /rows, {workers} worker(s)", http.loads[f"rows-w{workers}"], peer_load, raw_rate)
        show_load(f"Sluice POST /query, {workers} worker(s)", http.loads[f"query-w{workers}"], peer_load, raw_rate)
    if peer_load is not None:
        show_load("Datasette 0.65 -i, SQLite index (raw values)", peer_load, None, raw_rate)
    else:
        line("Datasette", "skipped: not installed (pip install -e '.[bench]')")

    print(f"\n(b) export of all {setup.rows:,} rows (Sluice masked; seconds to the last byte)")
    for fmt in ("parquet", "csv"):
        got = http.exports[fmt]
        ratio = (got.rows / got.seconds) / (setup.rows / copies[fmt]) if got.seconds else 0.0
        line(
            f"Sluice GET /download?format={fmt}",
            f"{got.seconds:6.2f} s {got.rows:>9,} rows {got.mib:5.0f} MiB",
            f"raw DuckDB COPY {copies[fmt]:5.2f} s"
            + (f", masked {copies['masked-' + fmt]:5.2f} s" if "masked-" + fmt in copies else ""),
            f"ratio {ratio:.2f} (rows/s); {got.note}",
        )
    if peer is not None:
        stream = peer[1]
        line(
            "Datasette CSV stream (_stream=on, max_csv_mb 0)",
            f"{stream.seconds:6.2f} s {stream.rows:>9,} rows {stream.mib:5.0f} MiB",
            f"raw DuckDB COPY {copies['csv']:5.2f} s",
            f"ratio {(stream.rows / stream.seconds) / (setup.rows / copies['csv']):.2f} (rows/s) {stream.note}",
        )
    if http.peak_mib is not None:
        line("Sluice server (1 worker) peak RSS after all this", f"{http.peak_mib:6.0f} MiB")

    print(f"\n(c) the gateway's own work per lookup, in process, {ROUNDS} lookups: p50 / p99 ms")
    for label, name in (
        ("authorise_query: parse, check, grant, reserve, rewrite; commit", "authorise"),
        ("record_delivery: audit event, signed receipt; commit", "record"),
        ("overhead = authorise + record", "overhead"),
        ("the rest: engine (the locked DuckDB), JSON, digest", "rest"),
        ("querying.query, the whole", "query"),
        ("fields_for (the /rows route only; run apart here, in its authorisation there)", "fields_for"),
    ):
        line(label, f"{p(setup.steps[name], 0.5):7.2f} / {p(setup.steps[name], 0.99):7.2f}")
    line("raw DuckDB lookup (one connection kept)", f"{p(setup.raw, 0.5):7.2f} / {p(setup.raw, 0.99):7.2f}")
    if setup.profiled:
        print("\ncProfile of querying.query (300 lookups of new IDs, by cumulative time):")
        print(setup.profiled)
    goals(setup, http, peer_load, copies)


def goals(setup: InProcess, http: OverHttp, peer: Load | None, copies: dict[str, float]) -> None:
    print("\ngoals:")
    for route, key in (("GET /rows", "rows-w1"), ("POST /query", "query-w1")):
        mine = http.loads[key]
        goal = f"  lookups/s ≥ Datasette's, {route} (1 worker):"
        if peer is None:
            print(f"{goal} not measured (Datasette is not installed)")
        elif not (mine.valid and peer.valid):
            print(f"{goal} not measured: {mine.failed} Sluice and {peer.failed} Datasette requests failed")
        else:
            verdict = "met" if mine.requests_per_second >= peer.requests_per_second else "NOT met"
            print(f"{goal} {verdict} ({mine.requests_per_second:,.0f} vs {peer.requests_per_second:,.0f} req/s)")
    overhead = p(setup.steps["overhead"], 0.5)
    verdict = "met" if overhead <= GOAL_OVERHEAD_MS else "NOT met"
    print(f"  gateway overhead ≤ {GOAL_OVERHEAD_MS:g} ms p50: {verdict} ({overhead:.2f} ms)")
    for fmt in ("parquet", "csv"):
        got = http.exports[fmt]
        if got.rows == setup.rows:
            ratio = copies[fmt] / got.seconds
            verdict = "met" if ratio >= GOAL_EXPORT_RATIO else "NOT met"
            print(f"  {fmt} export ≥ {GOAL_EXPORT_RATIO} of raw DuckDB: {verdict} (ratio {ratio:.2f})")
        else:
            print(
                f"  {fmt} export ≥ {GOAL_EXPORT_RATIO} of raw DuckDB: NOT met: {got.rows:,} of {setup.rows:,} rows "
                f"delivered ({got.note})"
            )


def main() -> None:
    if not Path(WRK).exists():
        print("skipped: wrk is missing (apt-get install -y wrk)")
        return
    with tempfile.TemporaryDirectory(prefix="sluice-gateway-") as tmp:
        folder = Path(tmp)
        setup = in_process(folder)
        print(
            f"psb.residents: {setup.rows:,} rows ({setup.how}); version {setup.mib:.0f} MiB in {setup.row_groups} "
            f"row groups; grant: every field, name/phone/address masked, id_number clear; audit on; "
            f"wrk -t{WRK_THREADS} -c{CONNECTIONS}: {WARM_UP} s warm-up, {SECONDS} s measured",
            flush=True,
        )
        http = over_http(folder, setup)
        peer = datasette(folder, setup)
        copies: dict[str, float] = {}
        for fmt in ("parquet", "csv"):
            copies[fmt] = raw_copy(f"SELECT * FROM read_parquet('{setup.parquet}')", folder / f"raw.{fmt}", fmt)
            if setup.governed_sql is not None:
                copies["masked-" + fmt] = raw_copy(setup.governed_sql, folder / f"masked.{fmt}", fmt)
    report(setup, http, peer, copies)


if __name__ == "__main__":
    main()
