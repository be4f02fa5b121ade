"""Department databases for tests: fresh databases on the machine's PostgreSQL and MariaDB servers, or a SQLite
file. A server that is not there skips the test with the reason — unless CI requires it
(SLUICE_REQUIRE_POSTGRES, SLUICE_REQUIRE_MYSQL), when it fails."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_SERVER = os.environ.get("SLUICE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"


def _reachable(url: str, require_env: str, what: str) -> None:
    admin = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        admin.connect().close()
    except Exception as exc:
        if os.environ.get(require_env):
            raise
        pytest.skip(f"no {what} server at {make_url(url).host} ({type(exc).__name__}); CI sets {require_env}")
    finally:
        admin.dispose()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server; dropped afterwards."""
    _reachable(POSTGRES_SERVER, "SLUICE_REQUIRE_POSTGRES", "PostgreSQL")
    server = make_url(POSTGRES_SERVER)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"sluice_src_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def mysql_database() -> Iterator[str]:
    """A new, empty utf8mb4 database on the local MariaDB/MySQL server; dropped afterwards."""
    _reachable(MYSQL_SERVER, "SLUICE_REQUIRE_MYSQL", "MariaDB/MySQL")
    admin = create_engine(MYSQL_SERVER, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"sluice_src_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
