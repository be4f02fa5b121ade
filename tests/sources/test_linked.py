"""Linked sources: a resource whose data stays in its department's database (PostgreSQL here when the suite
runs on PostgreSQL, else a SQLite file), checked in place and never copied into the lake."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from sluice.errors import Forbidden, Invalid
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.lake.schemas import VersionStatus
from sluice.platform import Platform
from sluice.sources import service
from sluice.sources.checking import check_source
from sluice.sources.models import LinkedSource
from sluice.sources.schemas import SourceLink
from tests.conftest import Backend, PostgresBackend, bearer
from tests.lake.conftest import GOOD_IDS, resident
from tests.source_dbs import mysql_database

ROWS = [resident(i, name=n) for i, n in zip(GOOD_IDS, ("张三", "李四", "王五"), strict=True)]
BAD = resident("110105194912310021", name="赵六")  # wrong check character
SECRET = "s3cret-pw"


def _fill(url: str, rows: list[dict[str, str]]) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS people"))
        connection.execute(
            text(
                "CREATE TABLE people (id_number VARCHAR(18) PRIMARY KEY, name VARCHAR(50), gender VARCHAR(1), "
                "birth_date DATE, division_code VARCHAR(6), address VARCHAR(200), phone VARCHAR(20))"
            )
        )
        for row in rows:
            connection.execute(
                text(
                    "INSERT INTO people VALUES (:id_number, :name, :gender, :birth_date, :division_code, :address, :phone)"
                ),
                {**row, "birth_date": row["birth_date"]},
            )
    engine.dispose()


@pytest.fixture
def source_url(backend: Backend, demo: Platform, tmp_path: Path) -> Iterator[str]:
    """A department database with a ``people`` table: a database on the test PostgreSQL server, or a
    SQLite file in a folder the operator allows."""
    if isinstance(backend, PostgresBackend):
        name = f"{backend.run}_source"
        backend._execute(f'CREATE DATABASE "{name}"')
        # trust authentication ignores the password, so a secret one can prove it is never shown
        url = backend.server_url.set(database=name, password=SECRET).render_as_string(hide_password=False)
        _fill(url, ROWS)
        yield url
        backend._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    folder = tmp_path / "department"
    folder.mkdir()
    demo.settings.source_sqlite_dirs = [folder]
    url = f"sqlite:///{folder / 'people.db'}"
    _fill(url, ROWS)
    yield url


def _actor(platform: Platform, username: str):  # type: ignore[no-untyped-def]
    with platform.reading() as session:
        return actor_for_user(find_user(session, username), via="test")


def test_a_linked_source_is_checked_in_place_and_its_password_never_returned(demo: Platform, source_url: str) -> None:
    provider = _actor(demo, "psb-admin")
    with demo.transaction() as session:
        shown = service.link_source(
            session, provider, code="psb.residents", link=SourceLink(url=source_url, table="people")
        )
    assert shown.table == "people"
    assert SECRET not in shown.url
    assert SECRET not in shown.model_dump_json()
    with demo.reading() as session:
        stored = session.scalars(select(LinkedSource)).one()
    assert SECRET not in stored.url_sealed  # encrypted at rest
    assert "people" not in stored.url_sealed
    assert SECRET not in stored.url_shown
    version = check_source(demo, provider, code="psb.residents")
    assert version.status is VersionStatus.PUBLISHED
    assert version.rows == len(ROWS)
    assert version.byte_size is None  # nothing was copied into the lake
    assert version.digest is None
    assert version.report is not None
    assert version.report.format == "linked"
    assert version.profile is not None
    assert {c.field: c.distinct for c in version.profile.columns}["division_code"] >= 1
    assert not list(demo.settings.lake_dir.glob(f"psb/residents/v{version.number:06d}-*"))  # nothing in the lake


def test_a_source_with_a_bad_row_is_rejected_with_the_row_reported(demo: Platform, source_url: str) -> None:
    _fill(source_url, [*ROWS, BAD])
    provider = _actor(demo, "psb-admin")
    with demo.transaction() as session:
        service.link_source(session, provider, code="psb.residents", link=SourceLink(url=source_url, table="people"))
    version = check_source(demo, provider, code="psb.residents")
    assert version.status is VersionStatus.REJECTED
    assert version.report is not None
    assert [(r.rule, r.field, r.count) for r in version.report.rules] == [("element", "id_number", 1)]


def test_linking_refuses_a_missing_table_and_mismatched_columns(demo: Platform, source_url: str) -> None:
    provider = _actor(demo, "psb-admin")
    with demo.transaction() as session, pytest.raises(Invalid, match="no table 'nobody'"):
        service.link_source(session, provider, code="psb.residents", link=SourceLink(url=source_url, table="nobody"))
    with demo.transaction() as session, pytest.raises(Invalid, match="missing field"):
        service.link_source(
            session,
            provider,
            code="psb.residents",
            link=SourceLink(url=source_url, table="people", mapping={"phone": None}),
        )


def test_linking_refuses_the_platform_s_own_database_and_unlisted_files(demo: Platform, tmp_path: Path) -> None:
    provider = _actor(demo, "psb-admin")
    own = demo.settings.metadata_url
    with demo.transaction() as session, pytest.raises(Invalid):
        service.link_source(session, provider, code="psb.residents", link=SourceLink(url=own, table="users"))
    outside = tmp_path / "elsewhere.db"
    sqlite3.connect(outside).close()
    with demo.transaction() as session, pytest.raises(Invalid, match="SLUICE_SOURCE_SQLITE_DIRS"):
        service.link_source(
            session, provider, code="psb.residents", link=SourceLink(url=f"sqlite:///{outside}", table="people")
        )
    with demo.transaction() as session, pytest.raises(Invalid, match="PostgreSQL, MySQL or SQLite"):
        service.link_source(
            session, provider, code="psb.residents", link=SourceLink(url="oracle://u:p@h/db", table="people")
        )


def test_only_the_provider_links_and_the_api_never_shows_the_password(
    demo: Platform, demo_client: TestClient, source_url: str
) -> None:
    with demo.transaction() as session, pytest.raises(Forbidden):
        service.link_source(
            session, _actor(demo, "civil-admin"), code="psb.residents", link=SourceLink(url=source_url, table="people")
        )
    answer = demo_client.put(
        "/api/v1/resources/psb.residents/source",
        json={"url": source_url, "table": "people"},
        headers=bearer(demo, "psb-admin"),
    )
    assert answer.status_code == 200, answer.text
    shown = demo_client.get("/api/v1/resources/psb.residents/source", headers=bearer(demo, "manager"))
    assert shown.status_code == 200
    assert SECRET not in json.dumps(shown.json())
    assert (
        demo_client.get("/api/v1/resources/psb.residents/source", headers=bearer(demo, "civil-analyst")).status_code
        == 403
    )
    checked = demo_client.post("/api/v1/resources/psb.residents/source/check", headers=bearer(demo, "psb-admin"))
    assert checked.status_code == 201, checked.text
    assert checked.json()["status"] == "published"


def test_rotating_the_key_keeps_every_connection_readable_and_retires_the_old_key(
    demo: Platform, source_url: str
) -> None:
    from sluice.sources.secrets import drop_old_keys, keys_path, unseal

    provider = _actor(demo, "psb-admin")
    with demo.transaction() as session:
        service.link_source(session, provider, code="psb.residents", link=SourceLink(url=source_url, table="people"))
        before = session.scalars(select(LinkedSource)).one().url_sealed
    old_key = keys_path(demo.settings.keys_dir).read_bytes()
    with demo.transaction() as session:
        assert service.rotate_source_key(session, _actor(demo, "operator")) == 1
    drop_old_keys(demo.settings.keys_dir)
    assert keys_path(demo.settings.keys_dir).read_bytes() != old_key
    with demo.reading() as session:
        after = session.scalars(select(LinkedSource)).one().url_sealed
    assert after != before
    assert unseal(demo.settings.keys_dir, after) == source_url.replace("postgresql://", "postgresql+psycopg://")
    with pytest.raises(Exception, match="cannot be decrypted"):
        unseal(demo.settings.keys_dir, before)  # the retired key is gone
    assert version_of_check(demo) is VersionStatus.PUBLISHED


def version_of_check(platform: Platform) -> VersionStatus:
    return check_source(platform, _actor(platform, "psb-admin"), code="psb.residents").status


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A database on the local MariaDB (this kind of machine runs one; CI requires it with SLUICE_REQUIRE_MYSQL)."""
    with mysql_database() as url:
        _fill(url, ROWS)
        yield url


def test_a_mysql_source_is_linked_and_checked_in_place(demo: Platform, mysql_url: str) -> None:
    provider = _actor(demo, "psb-admin")
    with demo.transaction() as session:
        shown = service.link_source(
            session, provider, code="psb.residents", link=SourceLink(url=mysql_url, table="people")
        )
    assert shown.dialect == "mysql"
    version = check_source(demo, provider, code="psb.residents")
    assert version.status is VersionStatus.PUBLISHED
    assert version.rows == len(ROWS)
    assert version.report is not None
    assert version.report.rules == []
