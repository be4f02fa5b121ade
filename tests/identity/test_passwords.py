"""Portal passwords: argon2 hashes, failure counting, lock-out, and every attempt recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.errors import Forbidden, Invalid
from sluice.identity import service
from sluice.identity.authn import LOCKOUT, MAX_FAILED_LOGINS, actor_for_password
from sluice.identity.models import User
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.platform import Platform
from tests.conftest import SYSTEM

PASSWORD = "correct horse battery"


@pytest.fixture
def clerk(platform: Platform) -> str:
    with platform.transaction() as session:
        service.create_organisation(
            session,
            SYSTEM,
            data=OrganisationCreate(code="psb", name_zh="公安", name_en="PSB", kind=OrgKind.DEPARTMENT),
        )
        service.create_user(
            session,
            SYSTEM,
            data=UserCreate(username="psb-clerk", org_code="psb", roles=[Role.PROVIDER], password=PASSWORD),
        )
    return "psb-clerk"


def test_the_password_is_stored_as_an_argon2id_hash(platform: Platform, clerk: str) -> None:
    with platform.sessions() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == clerk)).one()
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_the_right_password_signs_in_and_is_recorded(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session:
        actor = actor_for_password(session, clerk, PASSWORD)
    assert actor is not None
    assert actor.username == clerk
    assert actor.via == "password"
    with platform.sessions() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"user:{clerk}")).all()[-1] == (
            "login.ok"
        )


def test_repeated_failures_lock_the_account_for_a_while(platform: Platform, clerk: str, clock: FixedClock) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        with platform.transaction() as session:
            assert actor_for_password(session, clerk, "wrong password") is None
    with platform.transaction() as session:
        assert actor_for_password(session, clerk, PASSWORD) is None, "locked accounts refuse even the right password"
    clock.advance(LOCKOUT + timedelta(seconds=1))
    with platform.transaction() as session:
        assert actor_for_password(session, clerk, PASSWORD) is not None
    with platform.sessions() as session:
        failures = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failures) == MAX_FAILED_LOGINS + 1
    assert '"reason":"locked"' in failures[-1].entry


def test_an_unknown_account_fails_like_a_wrong_password(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session:
        assert actor_for_password(session, "nobody", PASSWORD) is None


def test_a_disabled_account_cannot_sign_in(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session:
        service.disable_user(session, SYSTEM, username=clerk)
    with platform.transaction() as session:
        assert actor_for_password(session, clerk, PASSWORD) is None


def test_short_passwords_are_refused(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session, pytest.raises(Invalid, match="at least 10"):
        service.set_password(session, SYSTEM, username=clerk, password="short")


def test_passwords_are_set_only_from_the_platform_shell(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session:
        actor = actor_for_password(session, clerk, PASSWORD)
        assert actor is not None
        with pytest.raises(Forbidden, match="`sluice` command"):
            service.set_password(session, actor, username=clerk, password="another long password")
