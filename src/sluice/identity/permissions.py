"""Permission checks of the identity use cases: each takes exactly its use case's arguments.

Checks only decide; they change nothing. ``public`` and ``signed_in`` are shared by other domains.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.errors import Forbidden, NotFound, Unauthenticated
from sluice.identity.actor import Actor
from sluice.identity.models import ApiToken, User
from sluice.identity.roles import ORG_ROLES, PLATFORM_ROLES, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate

DIRECTORY_READERS = PLATFORM_ROLES  # manager, operator and auditor may read every account


def public(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    """Anyone, signed in or not (the open-data public included)."""


def signed_in(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    if not (actor.is_user or actor.is_system):
        raise Unauthenticated("sign in first: send `Authorization: Bearer <token>`")


def operator_only(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR):
        return
    raise Forbidden("only the platform operator may do this", required_role=Role.OPERATOR.value)


def system_only(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    """Only someone at the platform's own shell (the `sluice` command), never over the network."""
    if not actor.is_system:
        raise Forbidden("this can only be done with the `sluice` command on the platform's host")


def can_create_organisation(session: Session, actor: Actor, *, data: OrganisationCreate) -> None:
    operator_only(session, actor)


def can_list_users(
    session: Session, actor: Actor, *, org_code: str | None = None, cursor: str | None = None, limit: int = 50
) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.roles & DIRECTORY_READERS:
        return
    if actor.has(Role.ORG_ADMIN) and org_code == actor.org_code:
        return
    if actor.has(Role.ORG_ADMIN):
        message = f"as org_admin you may list only your own organisation's accounts: pass org_code={actor.org_code}"
    else:
        message = "listing accounts needs the org_admin role (or a platform role)"
    raise Forbidden(message, required_role=Role.ORG_ADMIN.value)


def can_read_user(session: Session, actor: Actor, *, username: str) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.roles & DIRECTORY_READERS or actor.username == username:
        return
    target = _user(session, username)
    if actor.has(Role.ORG_ADMIN) and actor.org_id == target.org_id:
        return
    raise Forbidden(f"you may not see account {username!r}", username=username)


def can_create_user(session: Session, actor: Actor, *, data: UserCreate) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR):
        return
    if actor.has(Role.ORG_ADMIN) and data.org_code == actor.org_code:
        _org_roles_only(set(data.roles))
        return
    raise Forbidden(
        "accounts are created by the operator, or by an org_admin for its own organisation",
        org_code=data.org_code,
    )


def can_set_roles(session: Session, actor: Actor, *, username: str, roles: frozenset[Role]) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.username == username:
        raise Forbidden(
            "you cannot change your own roles; ask another operator (or your organisation's admin)",
            username=username,
        )
    if actor.has(Role.OPERATOR):
        return
    target = _user(session, username)
    if actor.has(Role.ORG_ADMIN) and actor.org_id == target.org_id:
        _org_roles_only(set(roles) | set(target.roles))
        return
    raise Forbidden(f"you may not change the roles of {username!r}", username=username)


def can_disable_user(session: Session, actor: Actor, *, username: str) -> None:
    _can_manage_other_account(session, actor, username, "disable")


def can_enable_user(session: Session, actor: Actor, *, username: str) -> None:
    _can_manage_other_account(session, actor, username, "enable")


def can_set_password(session: Session, actor: Actor, *, username: str, password: str) -> None:
    system_only(session, actor)


def can_create_token(
    session: Session, actor: Actor, *, username: str, name: str = "api", expires_at: datetime | None = None
) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.username == username:
        return
    # Not even the operator: a token for someone else would let its maker act as them.
    raise Forbidden("you can create tokens only for yourself", username=username)


def can_list_tokens(session: Session, actor: Actor, *, username: str) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.username == username or actor.has(Role.OPERATOR) or actor.has(Role.AUDITOR):
        return
    raise Forbidden("you can list only your own tokens", username=username)


def can_revoke_token(session: Session, actor: Actor, *, token_id: int) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR):
        return
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        # Same answer for "not yours" and "does not exist": token ids are not to be probed.
        raise NotFound(f"you have no token {token_id}", token_id=token_id)


def _can_manage_other_account(session: Session, actor: Actor, username: str, verb: str) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.username == username:
        raise Forbidden(f"you cannot {verb} your own account", username=username)
    if actor.has(Role.OPERATOR):
        return
    target = _user(session, username)
    if actor.has(Role.ORG_ADMIN) and actor.org_id == target.org_id:
        return
    raise Forbidden(f"you may not {verb} {username!r}", username=username)


def _org_roles_only(roles: set[Role]) -> None:
    outside = sorted(r.value for r in roles - ORG_ROLES)
    if outside:
        raise Forbidden(
            f"an org_admin can grant only organisation roles (org_admin, provider, consumer), not {outside[0]}",
            roles=outside,
        )


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"no account named {username!r}", username=username)
    return user
