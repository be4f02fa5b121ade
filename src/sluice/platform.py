"""The composition root: everything a running Sluice needs, built once from Settings.

``initialise`` makes a new platform in the data folder (idempotent, never replaces the key);
``Platform.open`` opens an initialised one and refuses clearly if it is not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sluice.clock import Clock, SystemClock
from sluice.db import migrate
from sluice.db.base import PlatformMeta
from sluice.db.engine import create_db_engine, reader_engine, redact_url
from sluice.errors import NotInitialised
from sluice.gateway.decisions import INFO_KEY as DECISIONS
from sluice.gateway.decisions import DecisionCache, watch_installed
from sluice.settings import Settings
from sluice.signing import Signer, generate_key_file, load_signer

INITIALISED_AT = "initialised_at"
log = logging.getLogger("sluice.platform")


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    signer: Signer
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None) -> Platform:
        """Open an initialised platform; say what is missing otherwise."""
        clock = clock or SystemClock()
        signer = load_signer(settings.signing_key_path)
        engine = create_db_engine(settings.metadata_url)
        _require_current_schema(engine, settings)
        info: dict[str, object] = {"clock": clock, "settings": settings, "signer": signer}
        if watch_installed(engine):
            info[DECISIONS] = DecisionCache()  # the gateway keeps its decisions per platform (per database)
        else:
            log.warning(
                "the policy stamp's triggers are missing or disabled: every governed call is authorised in full "
                "(see docs/operations.md, PostgreSQL)"
            )
        sessions = sessionmaker(engine, expire_on_commit=False, info=info)
        readers = sessionmaker(reader_engine(engine), expire_on_commit=False, info=info)
        return cls(settings=settings, engine=engine, sessions=sessions, readers=readers, signer=signer, clock=clock)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session: it never waits for, nor blocks, a writer (on SQLite, a DEFERRED transaction)."""
        with self.readers() as session:  # closing the session rolls back whatever it began
            yield session

    def meta(self, key: str) -> str | None:
        with self.reading() as session:
            row = session.get(PlatformMeta, key)
            return row.value if row else None

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class InitReport:
    created_data_dir: bool
    created_key: bool
    schema_revision: str


def initialise(settings: Settings, clock: Clock | None = None) -> InitReport:
    """Create what is missing of a platform: data folder, lake, signing key, schema. Never replaces a key."""
    clock = clock or SystemClock()
    created_dir = not settings.data_dir.exists()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.lake_dir.mkdir(exist_ok=True)
    created_key = not settings.signing_key_path.exists()
    if created_key:
        generate_key_file(settings.signing_key_path)
    engine = create_db_engine(settings.metadata_url)
    try:
        migrate.upgrade(engine)
        _stamp_initialised(engine, clock.now())
    finally:
        engine.dispose()
    return InitReport(created_dir, created_key, migrate.head_revision())


def _stamp_initialised(engine: Engine, at: datetime) -> None:
    with Session(engine) as session, session.begin():
        if session.get(PlatformMeta, INITIALISED_AT) is None:
            session.add(PlatformMeta(key=INITIALISED_AT, value=at.isoformat()))


def _require_current_schema(engine: Engine, settings: Settings) -> None:
    where = redact_url(settings.metadata_url)
    try:
        current = migrate.current_revision(engine)
        with Session(engine) as session:
            session.scalars(select(PlatformMeta).limit(1)).first()
    except OperationalError as exc:
        engine.dispose()
        raise NotInitialised(
            f"cannot read the metadata database at {where}: {exc.orig}; run `sluice init` (or `sluice doctor`)"
        ) from None
    head = migrate.head_revision()
    if current != head:
        engine.dispose()
        raise NotInitialised(
            f"the metadata database at {where} is at schema revision {current or 'none'}, this Sluice needs "
            f"{head}; run `sluice migrate`",
            current=current,
            required=head,
        )
