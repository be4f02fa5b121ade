"""Ingestions that cannot finish: a full disk, a crash, a process that died. Nothing half-made is ever served
or left behind, and the previous version keeps serving."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from sluice.clock import FixedClock
from sluice.errors import Forbidden, Invalid
from sluice.identity.actor import Actor
from sluice.lake import pipeline, service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions
from sluice.lake.storage import version_folder
from sluice.platform import Platform
from tests.conftest import bearer
from tests.lake.conftest import (
    GOOD_IDS,
    RESIDENTS,
    assert_serving_unchanged,
    lake_folders,
    resident,
    stored_versions,
    write_csv,
)


def residents_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS])


def assert_nothing_left(demo: Platform, before: set[str]) -> None:
    assert lake_folders(demo) == before
    assert_serving_unchanged(demo, RESIDENTS, 1)


def test_a_full_disk_when_moving_the_version_into_place(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(staged: Path, target: Path) -> None:
        target.mkdir(parents=True)  # a partial folder, as a real failure part-way through might leave
        (target / "data.parquet").write_bytes(b"PAR1")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("sluice.lake.ingestion.publish_folder", full)
    before = lake_folders(demo)

    with pytest.raises(Invalid) as refused:
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=residents_file(tmp_path))

    assert refused.value.detail == {"rule": "disk_full"}
    assert "disk is full" in refused.value.message
    assert "nothing was published" in refused.value.message
    version = stored_versions(demo, RESIDENTS)[2]
    assert (version.status, version.error, version.data) == ("failed", refused.value.message, None)
    assert_nothing_left(demo, before)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_while_duckdb_writes_the_parquet_file(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ENOSPC, as DuckDB reports it (its own IOException, not an OSError): /dev/full refuses every write."""
    write = pipeline._write_data

    def onto_a_full_disk(con: duckdb.DuckDBPyConnection, plan: pipeline.Plan, data: Path, rows: int) -> None:
        write(con, plan, Path("/dev/full"), rows)

    monkeypatch.setattr(pipeline, "_write_data", onto_a_full_disk)
    before = lake_folders(demo)

    with pytest.raises(Invalid) as refused:
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=residents_file(tmp_path))

    assert refused.value.detail == {"rule": "disk_full"}
    assert stored_versions(demo, RESIDENTS)[2].status == "failed"
    assert_nothing_left(demo, before)


def test_a_full_disk_is_a_clear_error_over_the_api(
    demo: Platform, demo_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(staged: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("sluice.lake.ingestion.publish_folder", full)
    response = demo_client.post(
        f"/api/v1/resources/{RESIDENTS}/versions",
        headers=bearer(demo, "psb-admin"),
        files={"file": ("residents.csv", residents_file(tmp_path).read_bytes(), "text/csv")},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["detail"]) == ("invalid", {"rule": "disk_full"})
    assert list((demo.settings.staging_dir / "uploads").iterdir()) == []


@pytest.mark.parametrize("crash", [KeyboardInterrupt, SystemExit])
def test_a_crash_in_the_middle_records_a_failed_version_and_keeps_nothing(
    demo: Platform,
    as_user: Callable[[str], Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    crash: type[BaseException],
) -> None:
    def crashing(*args: object, **kwargs: object) -> None:
        raise crash()

    monkeypatch.setattr(pipeline, "profile", crashing)  # after the data file was written in the staging folder
    before = lake_folders(demo)

    with pytest.raises(crash):
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=residents_file(tmp_path))

    version = stored_versions(demo, RESIDENTS)[2]
    assert version.status == "failed"
    assert version.error is not None
    assert version.error.startswith(f"interrupted: {crash.__name__}")
    assert_nothing_left(demo, before)


def test_a_crash_after_the_files_moved_into_place_removes_them(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crashing(*args: object, **kwargs: object) -> None:
        raise SystemExit(1)

    monkeypatch.setattr(service, "close_version", crashing)
    before = lake_folders(demo)

    with pytest.raises(SystemExit):
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=residents_file(tmp_path))

    assert stored_versions(demo, RESIDENTS)[2].status == "failed"
    assert_nothing_left(demo, before)


def test_recover_marks_dead_ingestions_failed_and_sweeps_orphans(
    demo: Platform, as_user: Callable[[str], Actor], clock: FixedClock
) -> None:
    with demo.transaction() as session:  # an ingestion whose process died after opening its version
        ticket = service.open_version(
            session, as_user("psb-admin"), code=RESIDENTS, options=IngestOptions(), source_name="lost.csv"
        )
    lake = demo.settings.lake_dir
    staged = demo.settings.staging_dir / f"{ticket.version_id}-{ticket.token}"
    (staged / "out").mkdir(parents=True)
    (staged / "out" / "data.parquet").write_bytes(b"half")
    orphan = version_folder(lake, RESIDENTS, ticket.number, ticket.token)  # moved, never committed
    orphan.mkdir(parents=True)
    (orphan / "data.parquet").write_bytes(b"whole, but no row points at it")
    serving = stored_versions(demo, RESIDENTS)[1].data
    assert serving is not None
    operator = as_user("operator")

    def recover(everything: bool) -> list[str]:
        with demo.transaction() as session:
            return service.recover_interrupted(session, operator, everything=everything)

    assert recover(everything=False) == []  # it may still be running in another process
    assert stored_versions(demo, RESIDENTS)[ticket.number].status == "processing"

    clock.advance(service.STALE_AFTER * 2)
    hours_ago = time.time() - 2 * service.STALE_AFTER.total_seconds()
    os.utime(orphan, (hours_ago, hours_ago))  # untouched for long; the staged folder was touched just now
    assert recover(everything=False) == [orphan.relative_to(lake).as_posix()]
    assert stored_versions(demo, RESIDENTS)[ticket.number].status == "failed"
    assert staged.exists()

    leftover = lake / ".exports" / "0123abcd.parquet"  # a gateway export its crashed process never sent
    leftover.parent.mkdir()
    leftover.write_bytes(b"masked rows")
    removed = recover(everything=True)
    assert staged.relative_to(lake).as_posix() in removed
    assert ".exports/0123abcd.parquet" in removed
    assert not leftover.exists()
    assert not staged.exists()
    assert not orphan.exists()
    assert serving.is_file()  # what a version row points at is never swept
    assert_serving_unchanged(demo, RESIDENTS, 1)
    assert recover(everything=True) == []

    with pytest.raises(Forbidden), demo.transaction() as session:
        service.recover_interrupted(session, as_user("psb-admin"), everything=True)
