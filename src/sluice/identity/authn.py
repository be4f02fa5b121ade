"""Authentication: turning a token or a password into an ``Actor``.

These run before any use case (there is no actor yet to check), so they are not use cases themselves.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.db.session import now, settings_of
from sluice.errors import Unauthenticated
from sluice.identity import credentials
from sluice.identity.actor import Actor, ActorKind
from sluice.identity.models import ApiToken, User
from sluice.identity.roles import OrgKind

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def actor_for_user(user: User, via: str) -> Actor:
    return Actor(
        kind=ActorKind.USER,
        username=user.username,
        user_id=user.id,
        org_id=user.org_id,
        org_code=user.organisation.code,
        org_kind=OrgKind(user.organisation.kind),
        roles=user.roles,
        via=via,
    )


def actor_for_token(session: Session, secret: str) -> Actor:
    """The account a bearer token belongs to; refused if unknown, revoked, expired or disabled."""
    refused = "the token is not valid: it is unknown, revoked or expired; create a new one with `sluice tokens create`"
    if not secret.startswith(credentials.TOKEN_PREFIX):
        raise Unauthenticated(refused)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == credentials.token_hash(secret))).one_or_none()
    at = now(session)
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= at):
        raise Unauthenticated(refused)
    if token.user.disabled_at is not None:
        raise Unauthenticated("the account this token belongs to is disabled")
    touch = timedelta(seconds=settings_of(session).token_touch_seconds)
    if token.last_used_at is None or at - token.last_used_at >= touch:
        token.last_used_at = at
    return actor_for_user(token.user, via=f"token:{token.id}")


def actor_for_password(session: Session, username: str, password: str) -> Actor | None:
    """The account if the password is right, else None (and the failure is counted and recorded).

    After ``MAX_FAILED_LOGINS`` failures in a row the account is locked for ``LOCKOUT``. The caller must
    commit even when None comes back, so that the failure count and the audit event are kept.
    """
    at = now(session)
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or user.password_hash is None:
        credentials.burn_password_check(password)
        record(session, Actor.anonymous(), "login.failed", f"user:{username}", reason="unknown")
        return None
    if user.disabled_at is not None or (user.locked_until is not None and user.locked_until > at):
        credentials.burn_password_check(password)
        reason = "disabled" if user.disabled_at is not None else "locked"
        record(session, Actor.anonymous(), "login.failed", f"user:{username}", reason=reason)
        return None
    if not credentials.verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = at + LOCKOUT
        record(
            session,
            Actor.anonymous(),
            "login.failed",
            f"user:{username}",
            reason="password",
            failures=user.failed_logins,
        )
        return None
    if credentials.password_needs_rehash(user.password_hash):
        user.password_hash = credentials.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    actor = actor_for_user(user, via="password")
    record(session, actor, "login.ok", f"user:{username}")
    return actor
