"""Catalog search at 10 000 and 100 000 resources (SQLite): `package_search`'s engine against bare FTS5.

For each size: a fresh platform in a temporary folder, bulk-loaded with generated departmental resources
(mixed Chinese and English, the demo generator), then many two-word Chinese queries with two facets
(organisation, tag), 20 results, as the anonymous public and as a department analyst. The limit beside it is
the bare SQL full-text query on the same store: FTS5 MATCH of the same tokens, its count and its top 20 by
bm25 — what any search must at least do. Prints p50/p95 and their ratio.

Run: `make bench` (all) or `.venv/bin/python -m bench.catalog_search [sizes…]`. Loading 100 000 resources takes
minutes: with `SLUICE_BENCH_KEEP=<folder>` each size's loaded platform is kept there and reused by later
runs (a developer's shortcut while iterating; migrations added since are applied to the kept copy).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from sluice.catalog import search, service
from sluice.catalog.indexing import card_values, search_words
from sluice.catalog.models import Resource, ResourceFormat, ResourceRevision, ResourceSearch, ResourceTag
from sluice.catalog.schemas import ResourceDescription, SearchQuery
from sluice.catalog.vocab import RevisionStatus
from sluice.demo.catalog import departmental_resources
from sluice.demo.government import ORGANISATIONS
from sluice.identity import service as identity
from sluice.identity.actor import Actor, ActorKind
from sluice.identity.models import Organisation
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate
from sluice.platform import Platform, initialise
from sluice.settings import Settings

QUERIES = [
    "交通 统计",
    "企业 信用",
    "人口 登记",
    "医疗 机构",
    "土地 供应",
    "税务 信用",
    "司法 公告",
    "社会 救助",
    "道路 许可",
    "食品 许可",
    "出生 医学",
    "执行 案件",
]
ROUNDS = 200
SYSTEM = Actor.system(via="bench")
ANALYST = Actor(
    kind=ActorKind.USER,
    username="bench-analyst",
    user_id=0,
    org_id=-1,
    org_code="bench",
    org_kind=OrgKind.DEPARTMENT,
    roles=frozenset({Role.CONSUMER}),
    via="bench",
)


def load(platform: Platform, count: int) -> float:
    """Bulk-load ``count`` published resources; returns seconds taken."""
    started = time.perf_counter()
    at = datetime(2026, 11, 28, tzinfo=UTC)
    with platform.transaction() as session:
        for demo_org in ORGANISATIONS:
            identity.create_organisation(
                session,
                SYSTEM,
                data=OrganisationCreate(
                    code=demo_org.code, name_zh=demo_org.name_zh, name_en=demo_org.name_en, kind=demo_org.kind
                ),
            )
        orgs = {o.code: o for o in session.query(Organisation)}
        resources, revisions, tags, formats, words = [], [], [], [], []
        for number, entry in enumerate(departmental_resources(count), start=1):
            description = entry.model_dump(exclude={"code"})
            org = orgs[entry.code.split(".", 1)[0]]
            parsed = ResourceDescription.model_validate(description)
            resources.append(
                {
                    "id": number,
                    "code": entry.code,
                    "org_id": org.id,
                    "created_at": at,
                    "updated_at": at,
                    "published_at": at,
                    "published_revision": 1,
                    "latest_revision": 1,
                    "visible": True,
                    "use_count": number % 97,
                    **card_values(parsed, RevisionStatus.PUBLISHED),
                }
            )
            revisions.append(
                {
                    "resource_id": number,
                    "number": 1,
                    "status": "published",
                    "created_by": "bench",
                    "description": json.dumps(description, ensure_ascii=False, default=str),
                    "created_at": at,
                }
            )
            tags += [{"resource_id": number, "tag": t} for t in dict.fromkeys(parsed.tags)]
            formats += [{"resource_id": number, "format": f.value} for f in parsed.formats]
            words.append({"resource_id": number, **search_words(entry.code, org, parsed)})
        for model, rows in (
            (Resource, resources),
            (ResourceRevision, revisions),
            (ResourceTag, tags),
            (ResourceFormat, formats),
            (ResourceSearch, words),
        ):
            session.execute(insert(model), rows)
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def timed(call: Callable[[str], object]) -> tuple[float, float]:
    for query in QUERIES:  # warm caches
        call(query)
    samples = []
    for round_ in range(ROUNDS):
        query = QUERIES[round_ % len(QUERIES)]
        started = time.perf_counter()
        call(query)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def sluice_search(platform: Platform, actor: Actor) -> Callable[[str], object]:
    def run(q: str) -> object:
        with platform.reading() as session:
            return service.search_resources(
                session, actor, query=SearchQuery(q=q, limit=20, facets=["organisation", "tag"])
            )

    return run


def bare_fts(database: Path) -> Callable[[str], object]:
    connection = sqlite3.connect(database)

    def run(q: str) -> object:
        match = " ".join(f'"{t}"' for t in search.query_tokens(q))
        count = connection.execute("SELECT count(*) FROM resource_fts WHERE resource_fts MATCH ?", (match,)).fetchone()
        top = connection.execute(
            "SELECT rowid FROM resource_fts WHERE resource_fts MATCH ? ORDER BY bm25(resource_fts, 10.0, 4.0, 1.0) "
            "LIMIT 20",
            (match,),
        ).fetchall()
        return count, top

    return run


def measure(count: int) -> None:
    keep = os.environ.get("SLUICE_BENCH_KEEP")
    with tempfile.TemporaryDirectory() as folder:
        kept = Path(keep) / f"catalog-{count}" if keep else None
        settings = Settings(data_dir=Path(folder) / "data")
        if kept is not None and kept.exists():
            shutil.copytree(kept, settings.data_dir)
        reused = settings.data_dir.exists()
        initialise(settings)
        platform = Platform.open(settings)
        try:
            search.warm_up()
            seconds = 0.0 if reused else load(platform, count)
            if kept is not None and not reused:
                shutil.copytree(settings.data_dir, kept)
            hits = sluice_search(platform, ANALYST)("交通 统计")
            limit_p50, limit_p95 = timed(bare_fts(settings.data_dir / "sluice.db"))
            print(
                f"catalog search, {count:>7,} resources ({'reused' if reused else f'loaded in {seconds:.0f} s'}; '交通 统计' finds "
                f"{getattr(hits, 'count', '?')}), two-word Chinese query, facets organisation+tag, 20 rows:"
            )
            for who, actor in (("public", Actor.anonymous()), ("department", ANALYST)):
                p50, p95 = timed(sluice_search(platform, actor))
                print(
                    f"  sluice search as {who:<10} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   "
                    f"bare FTS5 p50 {limit_p50:5.1f} ms p95 {limit_p95:5.1f} ms   ratio p95 {p95 / limit_p95:5.1f}x  "
                    f"goal p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}"
                )
        finally:
            platform.close()


def main(sizes: list[int] | None = None) -> None:
    for count in sizes or [10_000, 100_000]:
        measure(count)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or None)
