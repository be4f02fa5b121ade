"""Permission checks of the identity use cases: each takes exactly its use case's arguments.

Checks only decide; they change nothing. ``public`` and ``signed_in`` are shared by other domains.

Platform accounts (manager, operator, auditor) are created, promoted, demoted, disabled and enabled only
from the platform's shell (`sluice users …`): no network account — not even the operator — can put a
person into, or take one out of, the roles that watch each other. A caller who may not see an account is
told it does not exist, so account names cannot be probed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sluice.errors import Forbidden, NotFound, Unauthenticated
from sluice.identity.actor import Actor
from sluice.identity.models import ApiToken, User
from sluice.identity.queries import find_user
from sluice.identity.roles import ORG_ROLES, PLATFORM_ROLES, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate

DIRECTORY_READERS = PLATFORM_ROLES  # manager, operator and auditor may read every account
SHELL_ONLY = "platform accounts and roles are managed only from the platform's shell (`sluice users …`)"


def public(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    """Anyone, signed in or not (the open-data public included). Only for use cases that change nothing."""


def signed_in(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    if not (actor.is_user or actor.is_system):
        raise Unauthenticated("sign in first: send `Authorization: Bearer <token>`")


def in_person(actor: Actor, step: str) -> None:
    """A second person's decision (countersigning, confirming a critical action, reviewing a grade change) is
    taken with that person's own credentials. `sluice --as NAME` is the host administrator acting in someone's
    name: good for first steps, never for the check on them."""
    if actor.is_user and actor.via == "cli":
        raise Forbidden(
            f"{step} is a second person's decision, taken with their own credentials: use the API with their "
            "token (or the portal), not `sluice --as` at the platform's shell",
            rule="two_person",
        )


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
    if actor.has(Role.ORG_ADMIN):
        if org_code == actor.org_code:
            return
        raise Forbidden(
            f"as org_admin you may list only your own organisation's accounts: pass organisation={actor.org_code}"
        )
    raise Forbidden(
        "listing accounts needs the org_admin role (or a platform role)", required_role=Role.ORG_ADMIN.value
    )


def can_read_user(session: Session, actor: Actor, *, username: str) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.roles & DIRECTORY_READERS or actor.username == username:
        return
    _managed_by_org_admin(session, actor, username)


def can_create_user(session: Session, actor: Actor, *, data: UserCreate, password: str | None = None) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if password is not None:
        raise Forbidden(
            "initial passwords are set only from the platform's shell (`sluice users add --password-stdin`)"
        )
    if set(data.roles) & PLATFORM_ROLES:
        raise Forbidden(SHELL_ONLY)
    if actor.has(Role.OPERATOR):
        return
    if actor.has(Role.ORG_ADMIN) and data.org_code == actor.org_code:
        _org_roles_only(set(data.roles))
        return
    raise Forbidden(
        "accounts are created by the operator, or by an org_admin for its own organisation", org_code=data.org_code
    )


def can_set_roles(session: Session, actor: Actor, *, username: str, roles: frozenset[Role]) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.username == username:
        raise Forbidden("you cannot change your own roles; ask the operator (or your organisation's admin)")
    _may_manage_accounts(actor)
    target = _visible_target(session, actor, username)
    if (set(roles) | set(target.roles)) & PLATFORM_ROLES:
        raise Forbidden(SHELL_ONLY)
    if not actor.has(Role.OPERATOR):
        _org_roles_only(set(roles))


def can_disable_user(session: Session, actor: Actor, *, username: str) -> None:
    _can_switch_account(session, actor, username, "disable")


def can_enable_user(session: Session, actor: Actor, *, username: str) -> None:
    """An account is enabled only by an authority at least as high as the one that disabled it."""
    target = _can_switch_account(session, actor, username, "enable")
    if target is None or target.disabled_by is None:
        return
    if actor.has(Role.OPERATOR):
        allowed = target.disabled_by != Actor.system().username
    else:
        allowed = target.disabled_by_org_id == actor.org_id
    if not allowed:
        raise Forbidden(
            f"{username!r} was disabled by {target.disabled_by}; ask them (or a higher authority) to enable it"
        )


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
    raise Forbidden("you can list only your own tokens")


def can_revoke_token(session: Session, actor: Actor, *, token_id: int) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.OPERATOR):
        return
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.user_id:
        # Same answer for "not yours" and "does not exist": token ids are not to be probed.
        raise NotFound(f"you have no token {token_id}", token_id=token_id)


def _can_switch_account(session: Session, actor: Actor, username: str, verb: str) -> User | None:
    """Disable/enable: the target (None for the system actor, who may do anything)."""
    signed_in(session, actor)
    if actor.is_system:
        return None
    if actor.username == username:
        raise Forbidden(f"you cannot {verb} your own account")
    _may_manage_accounts(actor)
    target = _visible_target(session, actor, username)
    if target.roles & PLATFORM_ROLES:
        raise Forbidden(SHELL_ONLY)
    return target


def _may_manage_accounts(actor: Actor) -> None:
    if not (actor.has(Role.OPERATOR) or actor.has(Role.ORG_ADMIN)):
        raise Forbidden("managing accounts needs the operator or org_admin role")


def _visible_target(session: Session, actor: Actor, username: str) -> User:
    if actor.has(Role.OPERATOR):
        return find_user(session, username)
    return _managed_by_org_admin(session, actor, username)


def _managed_by_org_admin(session: Session, actor: Actor, username: str) -> User:
    """The target, if the actor is org_admin of its organisation; NotFound otherwise (no probing)."""
    hidden = NotFound(f"no account named {username!r} that you may see", username=username)
    if not actor.has(Role.ORG_ADMIN):
        raise hidden
    try:
        target = find_user(session, username)
    except NotFound:
        raise hidden from None
    if target.org_id != actor.org_id:
        raise hidden
    return target


def _org_roles_only(roles: set[Role]) -> None:
    outside = sorted(r.value for r in roles - ORG_ROLES)
    if outside:
        raise Forbidden(
            f"an org_admin can grant only organisation roles (org_admin, provider, consumer), not {outside[0]}",
            roles=outside,
        )
