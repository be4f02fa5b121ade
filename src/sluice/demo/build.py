"""`sluice demo build`: the demo government, built through the same use cases as everything else.

Later capabilities plug in by adding a step to ``STEPS`` (catalog, data, grants, …). Each step receives
the open platform and the build's scale and works as the system actor.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from sluice.db.base import PlatformMeta
from sluice.db.engine import create_db_engine
from sluice.db.models import metadata
from sluice.demo.government import ACCOUNTS, ORGANISATIONS
from sluice.errors import Conflict
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.platform import Platform, initialise
from sluice.settings import Settings

DEMO_PASSWORD = "sluice-demo"  # noqa: S105 - printed by `make demo`; for the demo only (see README)
DEMO_BUILT_AT = "demo_built_at"
DEMO_SCALE = "demo_scale"
DEMO_ACTOR = Actor.system(via="demo")


class Progress(Protocol):
    def __call__(self, step: str, done: int, total: int) -> None: ...


@dataclass(frozen=True)
class DemoBuild:
    platform: Platform
    scale: int
    progress: Progress


Step = Callable[[DemoBuild, Session], None]


def add_organisations(build: DemoBuild, session: Session) -> None:
    for number, org in enumerate(ORGANISATIONS, start=1):
        data = OrganisationCreate(code=org.code, name_zh=org.name_zh, name_en=org.name_en, kind=org.kind)
        identity.create_organisation(session, DEMO_ACTOR, data=data)
        build.progress("organisations", number, len(ORGANISATIONS))


def add_accounts(build: DemoBuild, session: Session) -> None:
    for number, account in enumerate(ACCOUNTS, start=1):
        data = UserCreate(
            username=account.username,
            display_name=account.display_name,
            org_code=account.org_code,
            roles=list(account.roles),
        )
        identity.create_user(session, DEMO_ACTOR, data=data, password=DEMO_PASSWORD)
        build.progress("accounts", number, len(ACCOUNTS))


def add_catalog(build: DemoBuild, session: Session) -> None:
    from sluice.demo.catalog import add_catalog as publish_catalog

    publish_catalog(session, build.progress)


def add_data(build: DemoBuild) -> None:
    """Load every scenario resource's synthetic data, through the same ingestion as any upload."""
    from sluice.demo.data import load_data

    load_data(build.platform, build.scale, build.progress)


STEPS: tuple[tuple[str, Step], ...] = (
    ("organisations", add_organisations),
    ("accounts", add_accounts),
    ("catalog", add_catalog),
)


def add_grants(build: DemoBuild) -> None:
    """A grant agreed before the platform (recorded at the shell, as migrated paper agreements are)."""
    from sluice.demo.grants import add_grants as record_grants

    with build.platform.transaction() as session:
        record_grants(session, build.platform.clock.now())


def add_sharing(build: DemoBuild) -> None:
    """Applications, grants and objections in every state of the workflow (see ``demo.sharing``)."""
    from sluice.demo.sharing import add_sharing as make_history

    make_history(build.platform)


# Steps that run their own transactions (ingestion must not run inside one), after STEPS commit.
LATER_STEPS: tuple[tuple[str, Callable[[DemoBuild], None]], ...] = (
    ("data", add_data),
    ("grants", add_grants),
    ("sharing", add_sharing),
)


@dataclass(frozen=True)
class DemoOutcome:
    built: bool  # False when an identical demo was already there
    scale: int


def build_demo(
    settings: Settings, *, scale: int = 1, force: bool = False, progress: Progress | None = None
) -> DemoOutcome:
    """Build the demo government into the data folder.

    Idempotent: if the same demo is already there nothing happens. A platform that holds something else
    (another scale, or real organisations) is refused unless ``force``, which wipes it first.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if force:
        wipe(settings)
    initialise(settings)
    platform = Platform.open(settings)
    try:
        existing = _existing_demo_scale(platform)
        if existing == scale:
            return DemoOutcome(built=False, scale=scale)
        _refuse_if_occupied(platform, existing, scale)
        _run_steps(DemoBuild(platform, scale, progress or _silent), scale)
        return DemoOutcome(built=True, scale=scale)
    finally:
        platform.close()


def login_hint(platform: Platform) -> str | None:
    """One line telling how to sign in to the demo, or None when this platform is not the demo."""
    if platform.meta(DEMO_BUILT_AT) is None:
        return None
    return (
        f'demo accounts manager, operator, auditor, psb-admin, civil-analyst, … all with password "{DEMO_PASSWORD}" '
        "(demo only): sign in on the portal's 登录 page, with Authorize on /docs, or POST /api/v1/auth/token"
    )


def wipe(settings: Settings) -> None:
    """Remove the platform in the data folder: its tables (SQLite or PostgreSQL), lake and keys."""
    if settings.database_url:
        engine = create_db_engine(settings.metadata_url)
        try:
            metadata().drop_all(engine)
            with engine.begin() as connection:
                if inspect(connection).has_table("alembic_version"):
                    connection.execute(text("DROP TABLE alembic_version"))
        finally:
            engine.dispose()
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)


def _run_steps(build: DemoBuild, scale: int) -> None:
    with build.platform.transaction() as session:
        for _name, step in STEPS:
            step(build, session)
    for _name, later in LATER_STEPS:
        later(build)
    with build.platform.transaction() as session:  # only a complete demo is marked built
        session.add(PlatformMeta(key=DEMO_SCALE, value=str(scale)))
        session.add(PlatformMeta(key=DEMO_BUILT_AT, value=build.platform.clock.now().isoformat()))


def _existing_demo_scale(platform: Platform) -> int | None:
    value = platform.meta(DEMO_SCALE)
    return int(value) if value is not None else None


def _refuse_if_occupied(platform: Platform, existing: int | None, scale: int) -> None:
    where = platform.settings.data_dir
    if existing is not None:
        raise Conflict(
            f"{where} already holds the demo government at scale {existing}; "
            f"run `sluice demo build --scale {scale} --force` to rebuild it (this wipes it)"
        )
    with platform.sessions() as session:
        occupied = identity.list_organisations(session, DEMO_ACTOR, limit=1).items
    if occupied:
        raise Conflict(
            f"{where} holds a platform that is not the demo; point SLUICE_DATA_DIR elsewhere, or use --force to wipe it"
        )


def _silent(step: str, done: int, total: int) -> None:
    """No progress output."""
