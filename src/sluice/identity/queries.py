"""Look-ups shared by the identity checks and use cases."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.errors import NotFound
from sluice.identity.models import Organisation, User


def find_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"no account named {username!r}", username=username)
    return user


def find_organisation(session: Session, code: str) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none()
    if org is None:
        raise NotFound(f"no organisation with code {code!r}", org_code=code)
    return org
