"""Authentication: turning a token or a password into an ``Actor``.

These run before any use case (there is no actor yet to check), so they are not use cases themselves.
Password checks run outside any database transaction: argon2 takes a sizeable fraction of a second, and a
transaction held through it would queue every other writer behind each sign-in.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session, joinedload

from sluice.audit.log import record
from sluice.db.session import now, settings_of
from sluice.errors import Unauthenticated
from sluice.identity import credentials
from sluice.identity.actor import Actor, ActorKind
from sluice.identity.models import ApiToken, User
from sluice.identity.roles import OrgKind
from sluice.identity.schemas import USERNAME_PATTERN
from sluice.platform import Platform

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_REFUSED = (
    "the token is not valid: it is unknown, revoked or expired; sign in again or create a new one "  # noqa: S105
    "with `sluice tokens create`"
)
LOGIN_REFUSED = (
    f"wrong username or password (after {MAX_FAILED_LOGINS} failures in a row an account is locked for "
    f"{int(LOCKOUT.total_seconds() // 60)} minutes)"
)


def actor_for_user(user: User, via: str, credential_expires_at: datetime | None = None) -> Actor:
    return Actor(
        kind=ActorKind.USER,
        username=user.username,
        user_id=user.id,
        org_id=user.org_id,
        org_code=user.organisation.code,
        org_kind=OrgKind(user.organisation.kind),
        roles=user.roles,
        via=via,
        credential_expires_at=credential_expires_at,
    )


@dataclass(frozen=True)
class TokenCheck:
    actor: Actor
    token_id: int
    touch_due: bool  # the token's last-used time is older than SLUICE_TOKEN_TOUCH_SECONDS


def check_token(session: Session, secret: str) -> TokenCheck:
    """The account a bearer token belongs to (reads only); refused if unknown, revoked, expired or disabled."""
    if not secret.startswith(credentials.TOKEN_PREFIX):
        raise Unauthenticated(TOKEN_REFUSED)
    token = session.scalars(_token_by_hash(), {"token_hash": credentials.token_hash(secret)}).unique().one_or_none()
    at = now(session)
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= at):
        raise Unauthenticated(TOKEN_REFUSED)
    if token.user.disabled_at is not None:
        raise Unauthenticated("the account this token belongs to is disabled")
    touch = timedelta(seconds=settings_of(session).token_touch_seconds)
    due = token.last_used_at is None or at - token.last_used_at >= touch
    actor = actor_for_user(token.user, via=f"token:{token.id}", credential_expires_at=token.expires_at)
    return TokenCheck(actor=actor, token_id=token.id, touch_due=due)


@functools.cache
def _token_by_hash() -> Select[ApiToken]:
    """The token with its account, organisation and roles in one read, built once: every API call asks it."""
    return (
        select(ApiToken)
        .where(ApiToken.token_hash == bindparam("token_hash"))
        .options(joinedload(ApiToken.user).joinedload(User.role_rows))
    )


def record_token_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now(session)))


def actor_for_token(platform: Platform, secret: str) -> Actor:
    """Check a token in a read-only transaction; write its last-used time (briefly) only when due."""
    with platform.reading() as session:
        checked = check_token(session, secret)
    if checked.touch_due:
        with platform.transaction() as session:
            record_token_use(session, checked.token_id)
    return checked.actor


@dataclass(frozen=True)
class _Attempt:
    user_id: int
    stored_hash: str
    failures: int


def verify_login(platform: Platform, username: str, password: str) -> Actor:
    """The account if the password is right; otherwise ``Unauthenticated``, with the failure counted and recorded.

    Each attempt is first reserved by an atomic increment that only succeeds while the account is not locked,
    so parallel guesses cannot exceed ``MAX_FAILED_LOGINS`` before the lock-out.
    """
    attempt = _reserve_attempt(platform, username)
    if attempt is None:
        credentials.burn_password_check(password)
        raise Unauthenticated(LOGIN_REFUSED)
    correct = credentials.verify_password(attempt.stored_hash, password)
    with platform.transaction() as session:
        user = session.get(User, attempt.user_id)
        assert user is not None
        if not correct:
            if attempt.failures >= MAX_FAILED_LOGINS:
                user.locked_until = now(session) + LOCKOUT
            record(
                session,
                Actor.anonymous(),
                "login.failed",
                f"user:{username}",
                reason="password",
                failures=attempt.failures,
            )
        else:
            user.failed_logins = 0
            user.locked_until = None
            if credentials.password_needs_rehash(attempt.stored_hash):
                user.password_hash = credentials.hash_password(password)
            actor = actor_for_user(user, via="password")
            record(session, actor, "login.ok", f"user:{username}")
    if not correct:
        raise Unauthenticated(LOGIN_REFUSED)
    return actor


def _reserve_attempt(platform: Platform, username: str) -> _Attempt | None:
    """Count an attempt before checking it; None (with the refusal recorded) when it may not be made."""
    target = f"user:{username[:64]}"
    with platform.transaction() as session:
        if not re.fullmatch(USERNAME_PATTERN, username):
            record(session, Actor.anonymous(), "login.failed", target, reason="malformed")
            return None
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None or user.password_hash is None:
            record(session, Actor.anonymous(), "login.failed", target, reason="unknown")
            return None
        if user.disabled_at is not None:
            record(session, Actor.anonymous(), "login.failed", target, reason="disabled")
            return None
        at = now(session)
        # Allowed while unlocked with fewer than MAX failures in flight or on record, or once a lock-out
        # has run out (which starts the count afresh). SET expressions see the row's old values.
        lock_over = User.locked_until <= at
        failures = session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(and_(User.locked_until.is_(None), User.failed_logins < MAX_FAILED_LOGINS), lock_over),
            )
            .values(failed_logins=case((lock_over, 1), else_=User.failed_logins + 1), locked_until=None)
            .returning(User.failed_logins)
        ).scalar_one_or_none()
        if failures is None:
            record(session, Actor.anonymous(), "login.failed", target, reason="locked")
            return None
        return _Attempt(user_id=user.id, stored_hash=user.password_hash, failures=failures)
