"""Portal passwords: argon2 hashes, failure counting, lock-out (also under parallel guessing), every attempt recorded."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.errors import Forbidden, Invalid, Unauthenticated
from sluice.identity import credentials, service
from sluice.identity.actor import Actor
from sluice.identity.authn import LOCKOUT, MAX_FAILED_LOGINS, verify_login
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
            session, SYSTEM, data=OrganisationCreate(code="psb", name_zh="公安", name_en="PSB", kind=OrgKind.DEPARTMENT)
        )
        service.create_user(
            session,
            SYSTEM,
            data=UserCreate(username="psb-clerk", org_code="psb", roles=[Role.PROVIDER]),
            password=PASSWORD,
        )
    return "psb-clerk"


def attempt(platform: Platform, username: str, password: str) -> Actor | None:
    try:
        return verify_login(platform, username, password)
    except Unauthenticated:
        return None


def failures_recorded(platform: Platform) -> list[AuditEvent]:
    with platform.reading() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.id))
        )


def test_the_password_is_stored_as_an_argon2id_hash(platform: Platform, clerk: str) -> None:
    with platform.reading() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == clerk)).one()
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_the_right_password_signs_in_and_is_recorded(platform: Platform, clerk: str) -> None:
    actor = verify_login(platform, clerk, PASSWORD)
    assert (actor.username, actor.via) == (clerk, "password")
    with platform.reading() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target == f"user:{clerk}")).all()
    assert actions[-1] == "login.ok"


def test_a_wrong_password_is_refused_with_the_lockout_rule_in_words(platform: Platform, clerk: str) -> None:
    with pytest.raises(Unauthenticated, match=f"after {MAX_FAILED_LOGINS} failures"):
        verify_login(platform, clerk, "wrong password")


def test_repeated_failures_lock_the_account_for_a_while(platform: Platform, clerk: str, clock: FixedClock) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        assert attempt(platform, clerk, "wrong password") is None
    assert attempt(platform, clerk, PASSWORD) is None, "locked accounts refuse even the right password"
    clock.advance(LOCKOUT + timedelta(seconds=1))
    assert attempt(platform, clerk, PASSWORD) is not None
    failures = failures_recorded(platform)
    assert len(failures) == MAX_FAILED_LOGINS + 1
    assert '"reason":"locked"' in failures[-1].entry


def test_a_success_resets_the_count(platform: Platform, clerk: str) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        attempt(platform, clerk, "wrong password")
    assert attempt(platform, clerk, PASSWORD) is not None
    for _ in range(MAX_FAILED_LOGINS - 1):
        attempt(platform, clerk, "wrong password")
    assert attempt(platform, clerk, PASSWORD) is not None


def test_parallel_guesses_cannot_exceed_the_limit(platform: Platform, clerk: str) -> None:
    guesses = 24
    barrier = threading.Barrier(guesses)
    results: list[bool] = []

    def guess(number: int) -> None:
        barrier.wait()
        results.append(attempt(platform, clerk, f"guess number {number}") is not None)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = [e for e in failures_recorded(platform) if '"reason":"password"' in e.entry]
    assert len(checked) == MAX_FAILED_LOGINS, "exactly the limit of passwords was tried, the rest refused unchecked"
    assert len(failures_recorded(platform)) == guesses, "every attempt is recorded"
    assert results == [False] * guesses
    assert attempt(platform, clerk, PASSWORD) is None, "and the account is locked"


def test_an_unknown_account_costs_a_password_check_like_a_known_one(
    platform: Platform, clerk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    burnt: list[str] = []
    monkeypatch.setattr(credentials, "burn_password_check", burnt.append)
    assert attempt(platform, "nobody", PASSWORD) is None
    assert burnt == [PASSWORD]
    assert '"reason":"unknown"' in failures_recorded(platform)[-1].entry


@pytest.mark.parametrize("username", ["x" * 300, "Robert'); DROP TABLE users;--", ""])
def test_a_malformed_username_is_refused_and_recorded_not_crashed(platform: Platform, username: str) -> None:
    assert attempt(platform, username, PASSWORD) is None
    last = failures_recorded(platform)[-1]
    assert '"reason":"malformed"' in last.entry
    assert len(last.target) <= 200


def test_a_disabled_account_cannot_sign_in(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session:
        service.disable_user(session, SYSTEM, username=clerk)
    assert attempt(platform, clerk, PASSWORD) is None


def test_short_passwords_are_refused(platform: Platform, clerk: str) -> None:
    with platform.transaction() as session, pytest.raises(Invalid, match="at least 10"):
        service.set_password(session, SYSTEM, username=clerk, password="short")


def test_passwords_are_set_only_from_the_platform_shell(platform: Platform, clerk: str) -> None:
    actor = verify_login(platform, clerk, PASSWORD)
    with platform.transaction() as session, pytest.raises(Forbidden, match="`sluice` command"):
        service.set_password(session, actor, username=clerk, password="another long password")
