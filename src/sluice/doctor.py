"""`sluice doctor`: check an installation and say, for each problem, what is wrong and how to fix it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sluice.db import migrate
from sluice.db.engine import create_db_engine, redact_url
from sluice.identity.models import User, UserRole
from sluice.identity.roles import PLATFORM_ROLES, Role
from sluice.settings import Settings
from sluice.signing import key_file_problem


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    message: str


def diagnose(settings: Settings) -> list[Check]:
    """Every check, in order; a failed database check skips those that need the database."""
    checks = [_configuration(settings), _data_dir(settings), _lake(settings), _key(settings)]
    engine = create_db_engine(settings.metadata_url)
    try:
        database = _database(engine, settings)
        checks.append(database)
        if database.level is Level.OK:
            schema = _schema(engine)
            checks.append(schema)
            if schema.level is Level.OK:
                with Session(engine) as session:
                    checks += [_separation_of_duties(session), _operator_present(session)]
    finally:
        engine.dispose()
    return checks


def _configuration(settings: Settings) -> Check:
    where = redact_url(settings.metadata_url)
    return Check("configuration", Level.OK, f"data folder {settings.data_dir.resolve()}, database {where}")


def _data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    if not path.is_dir():
        return Check("data folder", Level.FAIL, f"{path} does not exist; run `sluice init`")
    if not os.access(path, os.W_OK):
        return Check("data folder", Level.FAIL, f"{path} is not writable by this user; fix its owner or mode")
    return Check("data folder", Level.OK, f"{path} exists and is writable")


def _lake(settings: Settings) -> Check:
    if not settings.lake_dir.is_dir():
        return Check("lake", Level.FAIL, f"the lake folder {settings.lake_dir} is missing; run `sluice init`")
    return Check("lake", Level.OK, f"{settings.lake_dir}")


def _key(settings: Settings) -> Check:
    problem = key_file_problem(settings.signing_key_path)
    if problem:
        return Check("signing key", Level.FAIL, problem)
    return Check("signing key", Level.OK, f"{settings.signing_key_path} (Ed25519, mode 600)")


def _database(engine: Engine, settings: Settings) -> Check:
    where = redact_url(settings.metadata_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", exc)
        return Check("database", Level.FAIL, f"cannot connect to {where}: {cause}")
    return Check("database", Level.OK, f"{where} answers")


def _schema(engine: Engine) -> Check:
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current is None:
        return Check("schema", Level.FAIL, "the database has no Sluice schema; run `sluice init`")
    if current != head:
        return Check("schema", Level.FAIL, f"schema revision {current}, this Sluice needs {head}; run `sluice migrate`")
    return Check("schema", Level.OK, f"at revision {head}")


def _separation_of_duties(session: Session) -> Check:
    offenders = session.scalars(
        select(User.username)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([r.value for r in PLATFORM_ROLES]))
        .group_by(User.username)
        .having(func.count() > 1)
    ).all()
    if offenders:
        return Check(
            "separation of duties",
            Level.FAIL,
            f"accounts holding two platform roles: {', '.join(offenders)}; "
            "remove the extra role with `sluice users set-roles`",
        )
    return Check("separation of duties", Level.OK, "no account holds two of manager, operator, auditor")


def _operator_present(session: Session) -> Check:
    active = session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.OPERATOR.value, User.disabled_at.is_(None))
    )
    if not active:
        return Check(
            "operator account",
            Level.WARN,
            "no active operator account; create one with "
            "`sluice orgs add platform ... --kind platform` and `sluice users add NAME --org platform --role operator`",
        )
    return Check("operator account", Level.OK, f"{active} active operator account(s)")
