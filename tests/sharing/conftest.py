"""Shared helpers of the sharing tests: acting as demo accounts, filing applications, flipping catalog cards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from sluice.catalog.models import Resource
from sluice.identity import service as identity
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.identity.roles import Role
from sluice.identity.schemas import UserCreate
from sluice.platform import Platform
from sluice.sharing import service
from sluice.sharing.schemas import ApplicationCreate, ApplicationPublic
from tests.conftest import START, SYSTEM

PURPOSE = "real-estate registration (一网通办)"
BASIS = "《不动产登记暂行条例》第二十八条"


def as_(platform: Platform, username: str) -> Actor:
    with platform.reading() as session:
        return actor_for_user(find_user(session, username), via="test")


def apply(platform: Platform, username: str = "civil-analyst", **changes: Any) -> ApplicationPublic:
    """One application (by default: the civil bureau asks for three fields of the property register)."""
    body: dict[str, Any] = {
        "items": [{"resource": "nra.real_estate", "fields": ["certificate_no", "owner_id", "location"]}],
        "purpose": PURPOSE,
        "legal_basis": BASIS,
        "valid_until": START + timedelta(days=180),
        "quota": 1000,
        "delivery": ["query"],
    }
    body.update(changes)
    with platform.transaction() as session:
        return service.file_application(session, as_(platform, username), data=ApplicationCreate.model_validate(body))[
            0
        ]


def set_card(platform: Platform, code: str, **values: str) -> None:
    """Change what the catalog card says (grade, sharing or open type), as a published revision would."""
    with platform.transaction() as session:
        session.execute(update(Resource).where(Resource.code == code).values(**values))


def second_manager(platform: Platform, username: str = "manager2") -> Actor:
    with platform.transaction() as session:
        identity.create_user(
            session,
            SYSTEM,
            data=UserCreate(username=username, display_name="第二管理员", org_code="platform", roles=[Role.MANAGER]),
        )
    return as_(platform, username)
