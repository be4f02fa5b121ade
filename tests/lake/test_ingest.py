"""Ingesting versions end to end: the file, the report, the version, what serves."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from sluice.identity.actor import Actor
from sluice.lake.ingestion import ingest
from sluice.lake.queries import data_file, serving_version
from sluice.lake.schemas import VersionStatus
from sluice.platform import Platform
from tests.lake.conftest import GOOD_IDS, resident, write_csv


def test_a_clean_csv_becomes_the_serving_version(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS])
    version = ingest(demo, as_user("psb-admin"), code="psb.residents", source=source)
    assert version.status is VersionStatus.PUBLISHED
    assert version.serving
    assert version.rows == 3
    assert version.report is not None
    assert version.report.rules == []
    with demo.reading() as session:
        from sqlalchemy import select

        from sluice.catalog.models import Resource

        resource = session.scalars(select(Resource).where(Resource.code == "psb.residents")).one()
        current = serving_version(session, resource.id)
        assert current is not None
        path = data_file(demo.settings.lake_dir, current)
    con = duckdb.connect()
    rows = con.execute(
        "SELECT id_number, division_code, birth_date FROM read_parquet(?) ORDER BY 1", [str(path)]
    ).fetchall()
    assert [r[0] for r in rows] == sorted(GOOD_IDS)
    assert rows[0][1] == "110105"  # text, leading digits kept
    assert con.execute("SELECT typeof(birth_date) FROM read_parquet(?) LIMIT 1", [str(path)]).fetchone() == ("DATE",)
