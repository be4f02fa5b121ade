"""The database itself refuses a second platform role, whatever writes the row; and writers race safely."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sluice.errors import Conflict
from sluice.identity import service
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.platform import Platform
from tests.conftest import SYSTEM


@pytest.fixture
def operator_id(platform: Platform) -> int:
    with platform.transaction() as session:
        service.create_organisation(
            session,
            SYSTEM,
            data=OrganisationCreate(code="platform", name_zh="平台", name_en="P", kind=OrgKind.PLATFORM),
        )
        service.create_user(session, SYSTEM, data=UserCreate(username="op", org_code="platform", roles=[Role.OPERATOR]))
        return int(session.execute(text("SELECT id FROM users WHERE username = 'op'")).scalar_one())


@pytest.mark.parametrize("second", ["manager", "auditor"])
def test_raw_sql_cannot_give_an_account_a_second_platform_role(
    platform: Platform, operator_id: int, second: str
) -> None:
    with pytest.raises(IntegrityError), platform.transaction() as session:
        session.execute(
            text("INSERT INTO user_roles (user_id, role) VALUES (:user, :role)"),
            {"user": operator_id, "role": second},
        )


def test_raw_sql_cannot_invent_a_role(platform: Platform, operator_id: int) -> None:
    with pytest.raises(IntegrityError), platform.transaction() as session:
        session.execute(text("INSERT INTO user_roles (user_id, role) VALUES (:user, 'root')"), {"user": operator_id})


def test_organisation_roles_may_be_combined(platform: Platform, operator_id: int) -> None:
    with platform.transaction() as session:
        service.create_organisation(
            session,
            SYSTEM,
            data=OrganisationCreate(code="psb", name_zh="公安", name_en="PSB", kind=OrgKind.DEPARTMENT),
        )
        user = service.create_user(
            session,
            SYSTEM,
            data=UserCreate(username="psb-all", org_code="psb", roles=[Role.ORG_ADMIN, Role.PROVIDER, Role.CONSUMER]),
        )
    assert user.roles == [Role.CONSUMER, Role.ORG_ADMIN, Role.PROVIDER]


def test_two_concurrent_creations_of_one_account_make_exactly_one(platform: Platform, operator_id: int) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create() -> None:
        barrier.wait()
        try:
            with platform.transaction() as session:
                service.create_user(
                    session,
                    SYSTEM,
                    data=UserCreate(username="twin", org_code="platform", roles=[Role.AUDITOR]),
                )
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "created"]
    with platform.sessions() as session:
        assert session.execute(text("SELECT COUNT(*) FROM users WHERE username = 'twin'")).scalar_one() == 1
