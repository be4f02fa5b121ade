"""Shared fixtures. Every test gets fresh state: its own data folder and its own database.

The metadata database is SQLite in the test's data folder, or — when SLUICE_TEST_DATABASE_URL names a
PostgreSQL server — a database of its own on that server, cloned from a template made once per run.
Templates ("empty": initialised; "demo": the demo government built) are built once per run, so that a
test costs a copy, not a migration or a demo build.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sluice.api.app import create_app
from sluice.clock import FixedClock
from sluice.demo.build import build_demo
from sluice.identity import service
from sluice.identity.actor import Actor
from sluice.platform import Platform, initialise
from sluice.settings import Settings

TEST_DATABASE_ENV = "SLUICE_TEST_DATABASE_URL"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
SYSTEM = Actor.system(via="test")


class Backend:
    """Where test databases live: SQLite files in data folders, or databases on a PostgreSQL server."""

    name = "sqlite"

    def url_for(self, database: str, data_dir: Path) -> str | None:
        return None  # SQLite inside the data folder, copied along with it

    def create_template(self, database: str) -> None:
        """Nothing to do for SQLite."""

    def clone(self, template: str, database: str) -> None:
        """Nothing to do for SQLite: the data folder copy holds the database."""

    def drop(self, database: str) -> None:
        """Nothing to do for SQLite."""

    def close(self) -> None:
        """Nothing to do for SQLite."""


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.run = f"sluice_{uuid.uuid4().hex[:10]}"
        self.created: set[str] = set()

    def url_for(self, database: str, data_dir: Path) -> str | None:
        return self.server_url.set(database=f"{self.run}_{database}").render_as_string(hide_password=False)

    def create_template(self, database: str) -> None:
        self._execute(f'CREATE DATABASE "{self.run}_{database}"')
        self.created.add(database)

    def clone(self, template: str, database: str) -> None:
        self._execute(f'CREATE DATABASE "{self.run}_{database}" TEMPLATE "{self.run}_{template}"')
        self.created.add(database)

    def drop(self, database: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.run}_{database}" WITH (FORCE)')
        self.created.discard(database)

    def close(self) -> None:
        for database in list(self.created):
            self.drop(database)
        self.admin.dispose()

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))


@dataclass(frozen=True)
class Template:
    name: str
    data_dir: Path


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    url = os.environ.get(TEST_DATABASE_ENV)
    chosen: Backend = PostgresBackend(url) if url else Backend()
    yield chosen
    chosen.close()


@pytest.fixture(scope="session")
def empty_template(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Template:
    template = Template("empty", tmp_path_factory.mktemp("template-empty") / "data")
    backend.create_template(template.name)
    initialise(_settings(backend, template.name, template.data_dir))
    return template


@pytest.fixture(scope="session")
def demo_template(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Template:
    template = Template("demo", tmp_path_factory.mktemp("template-demo") / "data")
    backend.create_template(template.name)
    build_demo(_settings(backend, template.name, template.data_dir))
    return template


def _settings(backend: Backend, database: str, data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=backend.url_for(database, data_dir))


def _fresh_settings(backend: Backend, template: Template, tmp_path: Path) -> Iterator[Settings]:
    database = f"t{uuid.uuid4().hex[:12]}"
    data_dir = tmp_path / "data"
    shutil.copytree(template.data_dir, data_dir)
    backend.clone(template.name, database)
    try:
        yield _settings(backend, database, data_dir)
    finally:
        backend.drop(database)


@pytest.fixture
def settings(backend: Backend, empty_template: Template, tmp_path: Path) -> Iterator[Settings]:
    """An initialised platform with nothing in it."""
    yield from _fresh_settings(backend, empty_template, tmp_path)


@pytest.fixture
def demo_settings(backend: Backend, demo_template: Template, tmp_path: Path) -> Iterator[Settings]:
    """The demo government, freshly copied."""
    yield from _fresh_settings(backend, demo_template, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def platform(settings: Settings, clock: FixedClock) -> Iterator[Platform]:
    opened = Platform.open(settings, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def demo(demo_settings: Settings, clock: FixedClock) -> Iterator[Platform]:
    opened = Platform.open(demo_settings, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def demo_client(demo: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(demo), raise_server_exceptions=False) as test_client:
        yield test_client


def token_for(platform: Platform, username: str) -> str:
    """A fresh API token for ``username``, issued from the platform's shell."""
    with platform.transaction() as session:
        return service.create_token(session, SYSTEM, username=username, name="test").token


def bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


@pytest.fixture
def blank_database_url(backend: Backend, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    database = f"b{uuid.uuid4().hex[:12]}"
    backend.create_template(database)
    try:
        yield backend.url_for(database, tmp_path) or f"sqlite:///{tmp_path / 'blank.db'}"
    finally:
        backend.drop(database)


@pytest.fixture(scope="session")
def spark_ready() -> Iterator[None]:
    """Spark in local mode, started once per test session (FACTS.md: about 7 s) by the gateway's own engine;
    skipped with the reason where pyspark or Java is missing — unless CI requires it (SLUICE_REQUIRE_SPARK)."""
    import importlib.util

    missing = (
        "pyspark is not installed"
        if importlib.util.find_spec("pyspark") is None
        else "no Java runtime"
        if shutil.which("java") is None
        else None
    )
    if missing is not None:
        if os.environ.get("SLUICE_REQUIRE_SPARK"):
            pytest.fail(f"Spark tests are required here but {missing}")
        pytest.skip(f"{missing}; CI runs the Spark tests (SLUICE_REQUIRE_SPARK)")
    yield
    from sluice.gateway import spark

    spark.stop()
