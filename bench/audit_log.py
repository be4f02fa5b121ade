"""The Merkle audit log: append throughput with durability (SQLite; PostgreSQL when SLUICE_BENCH_POSTGRES_URL is
set), each beside bare one-row commits on the same database (the limit); verification of N entries beside raw
hashlib hashing of the same bytes (the limit); inclusion-proof latency at N entries. Goals (issue 7): verify
≥ 0.5 of the raw hashing rate; proof p95 < 5 ms.

    python -m bench audit_log          # N = 1 000 000 (SLUICE_BENCH_QUICK=1: 100 000)
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

from sluice.audit import service
from sluice.audit.export import export_log
from sluice.audit.log import canonical_json, record
from sluice.audit.models import AuditEvent, AuditQueue
from sluice.audit.sequencer import sequence, sign_tree_head
from sluice.audit.standalone_verifier import ENTRIES, verify_export
from sluice.identity.actor import Actor
from sluice.platform import Platform, initialise
from sluice.settings import Settings

SYSTEM = Actor.system(via="bench")


def _entry(number: int) -> str:
    return canonical_json(
        {
            "action": "gateway.query",
            "actor": f"analyst-{number % 97}",
            "actor_kind": "user",
            "actor_org": "civil",
            "at": datetime(2026, 11, 28, tzinfo=UTC).isoformat(),
            "detail": {"rows": number % 1000, "purpose": "marriage registration verification", "grants": [1]},
            "target": "resource:psb.residents",
            "via": "token:1",
        }
    )


def _platform(folder: Path, url: str | None) -> Platform:
    settings = Settings(data_dir=folder, database_url=url)
    initialise(settings)
    return Platform.open(settings)


def appends(platform: Platform, seconds: float = 5.0) -> float:
    """Events per second, one transaction (durable commit) per event, as the API writes them."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        with platform.transaction() as session:
            record(session, SYSTEM, "bench.append", "bench", number=done)
        done += 1
    return done / (time.perf_counter() - started)


def raw_commits(platform: Platform, seconds: float = 5.0) -> float:
    """The limit for appends: durable commits per second of a one-row INSERT into a plain table of the same
    database, through the same driver."""
    with platform.engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS bench_commits (n integer)"))
    done, started = 0, time.perf_counter()
    with platform.engine.connect() as connection:
        while time.perf_counter() - started < seconds:
            connection.execute(text("INSERT INTO bench_commits (n) VALUES (:n)"), {"n": done})
            connection.commit()
            done += 1
    return done / (time.perf_counter() - started)


def append_figures(platform: Platform, database: str) -> None:
    rate, limit = appends(platform), raw_commits(platform)
    print(
        f"append with durability, {database}: {rate:,.0f} events/s (one commit each) = {rate / limit:.2f} of "
        f"{limit:,.0f} one-row commits/s on the same database (the limit)"
    )


def fill(platform: Platform, count: int) -> None:
    """Load ``count`` events quickly (bulk), then sequence them in batches as the sequencer does."""
    at = datetime(2026, 11, 28, tzinfo=UTC)
    batch = 20_000
    for offset in range(0, count, batch):
        rows = [
            {"at": at, "actor": "bench", "actor_org": None, "action": "bench", "target": "bench", "entry": _entry(n)}
            for n in range(offset, min(offset + batch, count))
        ]
        with platform.transaction() as session:
            ids = session.scalars(insert(AuditEvent).returning(AuditEvent.id), rows).all()
            session.execute(insert(AuditQueue), [{"event_id": i} for i in ids])
    started = time.perf_counter()
    with platform.transaction() as session:
        while sequence(session, limit=20_000):
            pass
        sign_tree_head(session)
    print(f"sequenced {count:,} entries in {time.perf_counter() - started:.1f} s", flush=True)


def raw_hashing(entries: list[bytes]) -> float:
    """The limit: SHA-256 of every leaf and every inner node (2n hashes), nothing else."""
    started = time.perf_counter()
    level = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return len(entries) / (time.perf_counter() - started)


def main() -> None:
    count = 100_000 if os.environ.get("SLUICE_BENCH_QUICK") else 1_000_000
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        platform = _platform(folder / "sqlite", None)
        append_figures(platform, "SQLite")
        url = os.environ.get("SLUICE_BENCH_POSTGRES_URL")
        if url:
            pg = _platform(folder / "pg", url)
            append_figures(pg, "PostgreSQL")
            pg.close()
        fill(platform, count)
        export = folder / "export"
        with platform.reading() as session:
            export_log(session, platform.signer, platform.settings.keys_dir, export)
        with (export / ENTRIES).open("rb") as lines:
            entries = [line.partition(b"\t")[2][:-1] for line in lines]
        limit = raw_hashing(entries)
        started = time.perf_counter()
        report = verify_export(export)
        verified = len(entries) / (time.perf_counter() - started)
        assert report.ok, report.render()
        print(f"raw hashlib over the same {len(entries):,} entries: {limit:,.0f} entries/s (the limit)")
        print(f"verify (parse + hash + check heads): {verified:,.0f} entries/s = {verified / limit:.2f} of the limit")
        timings = []
        with platform.reading() as session:
            for index in range(0, len(entries), max(1, len(entries) // 500)):
                started = time.perf_counter()
                service.inclusion_proof(session, SYSTEM, index=index)
                timings.append((time.perf_counter() - started) * 1000)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(
            f"inclusion proof at {len(entries):,} entries: p50 {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms (goal < 5 ms)"
        )
        platform.close()


if __name__ == "__main__":
    main()
