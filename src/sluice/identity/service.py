"""Use cases of the identity domain: organisations, accounts, roles and API tokens.

Every function takes the session, the acting ``Actor`` and keyword arguments; its permission check runs
first (see ``sluice.usecase``); it records an audit event for each change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.db.errors import refused_as, unique
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Invalid, NotFound
from sluice.identity import credentials
from sluice.identity import permissions as can
from sluice.identity.actor import Actor
from sluice.identity.models import ApiToken, Organisation, User, UserRole
from sluice.identity.queries import find_organisation, find_user
from sluice.identity.roles import SEPARATION_OF_DUTIES, OrgKind, Role, check_role_set
from sluice.identity.schemas import (
    Me,
    NewToken,
    OrganisationCreate,
    OrganisationPublic,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from sluice.pagination import Page, check_limit, decode_cursor, keyset_page
from sluice.usecase import use_case


@use_case(can.signed_in)
def whoami(session: Session, actor: Actor) -> Me:
    """The calling account, its organisation and its roles."""
    if actor.user_id is None:
        raise NotFound("the local `sluice` command acts as the system, not as an account")
    user = find_user(session, actor.username)
    public = _user_public(user)
    return Me(
        **public.model_dump(),
        organisation_name_zh=user.organisation.name_zh,
        organisation_name_en=user.organisation.name_en,
        authenticated_via=actor.via,
    )


# --- organisations -------------------------------------------------------------------------------------


@use_case(can.can_create_organisation)
def create_organisation(session: Session, actor: Actor, *, data: OrganisationCreate) -> OrganisationPublic:
    """Register an organisation: a government department, an enterprise or the platform itself."""
    refusal = Conflict(f"an organisation with code {data.code!r} already exists", field="code", value=data.code)
    with unique(session, Organisation.code, data.code, refusal):
        org = Organisation(
            code=data.code, name_zh=data.name_zh, name_en=data.name_en, kind=data.kind.value, created_at=now(session)
        )
        session.add(org)
    record(session, actor, "organisation.create", f"org:{org.code}", kind=org.kind)
    return OrganisationPublic.model_validate(org)


@use_case(can.public)
def list_organisations(
    session: Session,
    actor: Actor,
    *,
    kind: OrgKind | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[OrganisationPublic]:
    """Organisations by code, optionally of one kind."""
    check_limit(limit, settings_of(session).page_size_max)
    query = select(Organisation).order_by(Organisation.id).limit(limit + 1)
    if kind is not None:
        query = query.where(Organisation.kind == kind.value)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(Organisation.id > after)
    rows = list(session.scalars(query))
    return keyset_page(rows, limit, OrganisationPublic.model_validate)


@use_case(can.public)
def get_organisation(session: Session, actor: Actor, *, code: str) -> OrganisationPublic:
    """One organisation by code."""
    return OrganisationPublic.model_validate(find_organisation(session, code))


# --- accounts ------------------------------------------------------------------------------------------


@use_case(can.can_create_user)
def create_user(session: Session, actor: Actor, *, data: UserCreate, password: str | None = None) -> UserPublic:
    """Create an account in an organisation, with roles (and, from the shell only, a portal password)."""
    org = find_organisation(session, data.org_code)
    roles = frozenset(data.roles)
    check_role_set(roles, OrgKind(org.kind), data.username)
    password_hash = _password_hash(password) if password is not None else None
    refusal = Conflict(f"an account named {data.username!r} already exists", field="username")
    with unique(session, User.username, data.username, refusal):
        user = User(
            username=data.username,
            display_name=data.display_name or data.username,
            org_id=org.id,
            organisation=org,
            password_hash=password_hash,
            created_at=now(session),
            failed_logins=0,
        )
        user.role_rows = [UserRole(role=r.value) for r in sorted(roles)]
        session.add(user)
    record(
        session,
        actor,
        "user.create",
        f"user:{user.username}",
        org=org.code,
        roles=sorted(r.value for r in roles),
    )
    return _user_public(user)


@use_case(can.can_list_users)
def list_users(
    session: Session, actor: Actor, *, org_code: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[UserPublic]:
    """Accounts in creation order, optionally of one organisation."""
    check_limit(limit, settings_of(session).page_size_max)
    query = select(User).order_by(User.id).limit(limit + 1)
    if org_code is not None:
        query = query.where(User.org_id == find_organisation(session, org_code).id)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(User.id > after)
    rows = list(session.scalars(query))
    return keyset_page(rows, limit, _user_public)


@use_case(can.can_read_user)
def get_user(session: Session, actor: Actor, *, username: str) -> UserPublic:
    """One account."""
    return _user_public(find_user(session, username))


@use_case(can.can_set_roles)
def set_roles(session: Session, actor: Actor, *, username: str, roles: frozenset[Role]) -> UserPublic:
    """Replace an account's roles. Refused if the result breaks the separation of duties."""
    user = find_user(session, username)
    check_role_set(roles, OrgKind(user.organisation.kind), username)
    before = sorted(r.value for r in user.roles)
    # A concurrent change can still break the rule between the check and the write; the database's
    # one-platform-role index then refuses it, and the caller hears why.
    refusal = Invalid(f"{username!r} would hold two platform roles", field="roles", rule=SEPARATION_OF_DUTIES)
    with refused_as(session, refusal):
        user.role_rows = [UserRole(role=r.value) for r in sorted(roles)]
    after = sorted(r.value for r in roles)
    record(session, actor, "user.roles", f"user:{username}", before=before, after=after)
    return _user_public(user)


@use_case(can.can_disable_user)
def disable_user(session: Session, actor: Actor, *, username: str) -> UserPublic:
    """Disable an account: its tokens and password stop working at once. Nothing is deleted."""
    user = find_user(session, username)
    if user.disabled_at is None:
        user.disabled_at = now(session)
        user.disabled_by = actor.username
        user.disabled_by_org_id = actor.org_id
        record(session, actor, "user.disable", f"user:{username}")
    return _user_public(user)


@use_case(can.can_enable_user)
def enable_user(session: Session, actor: Actor, *, username: str) -> UserPublic:
    """Enable a disabled account again."""
    user = find_user(session, username)
    if user.disabled_at is not None:
        user.disabled_at = None
        user.disabled_by = None
        user.disabled_by_org_id = None
        user.failed_logins = 0
        user.locked_until = None
        record(session, actor, "user.enable", f"user:{username}")
    return _user_public(user)


@use_case(can.can_set_password)
def set_password(session: Session, actor: Actor, *, username: str, password: str) -> None:
    """Set an account's portal password (from the platform's shell only)."""
    user = find_user(session, username)
    user.password_hash = _password_hash(password)
    user.failed_logins = 0
    user.locked_until = None
    record(session, actor, "user.password", f"user:{username}")


# --- API tokens ----------------------------------------------------------------------------------------


@use_case(can.can_create_token)
def create_token(
    session: Session, actor: Actor, *, username: str, name: str = "api", expires_at: datetime | None = None
) -> NewToken:
    """Issue an API token. The secret is in the result and nowhere else: only its hash is stored.

    Over the network a token lives at most SLUICE_TOKEN_MAX_DAYS (the default) and never outlives the
    credential that made it; from the shell it may live forever.
    """
    user = find_user(session, username)
    if user.disabled_at is not None:
        raise Conflict(f"account {username!r} is disabled; enable it before issuing tokens", username=username)
    issued_at = now(session)
    expires_at = _token_expiry(session, actor, issued_at, expires_at)
    secret = credentials.new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=credentials.token_hash(secret),
        prefix=credentials.token_display_prefix(secret),
        created_at=issued_at,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor,
        "token.create",
        f"user:{username}",
        token_id=token.id,
        name=name,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return NewToken(**_token_public(token, username).model_dump(), token=secret)


@use_case(can.can_list_tokens)
def list_tokens(session: Session, actor: Actor, *, username: str) -> list[TokenPublic]:
    """An account's tokens (never their secrets), newest first."""
    user = find_user(session, username)
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    return [_token_public(t, username) for t in tokens]


@use_case(can.can_revoke_token)
def revoke_token(session: Session, actor: Actor, *, token_id: int) -> TokenPublic:
    """Revoke a token; the next request that presents it is refused."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}", token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = now(session)
        record(session, actor, "token.revoke", f"user:{token.user.username}", token_id=token.id)
    return _token_public(token, token.user.username)


# --- helpers -------------------------------------------------------------------------------------------


def _token_expiry(session: Session, actor: Actor, issued_at: datetime, asked: datetime | None) -> datetime | None:
    if asked is not None and asked <= issued_at:
        raise Invalid("expires_at must be in the future", field="expires_at", value=asked.isoformat())
    if actor.is_system:
        return asked
    latest = issued_at + timedelta(days=settings_of(session).token_max_days)
    if actor.credential_expires_at is not None:
        latest = min(latest, actor.credential_expires_at)
    if asked is None:
        return latest
    if asked > latest:
        raise Invalid(
            f"a token made now can live until {latest.isoformat()} at the latest (it cannot outlive the "
            "credential that makes it, nor SLUICE_TOKEN_MAX_DAYS)",
            field="expires_at",
            latest=latest.isoformat(),
        )
    return asked


def _password_hash(password: str) -> str:
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise Invalid(f"a password needs at least {credentials.MIN_PASSWORD_LENGTH} characters", field="password")
    return credentials.hash_password(password)


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        username=user.username,
        display_name=user.display_name,
        organisation=user.organisation.code,
        org_kind=OrgKind(user.organisation.kind),
        roles=sorted(user.roles),
        created_at=user.created_at,
        disabled=user.disabled_at is not None,
        has_password=user.password_hash is not None,
    )


def _token_public(token: ApiToken, username: str) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        username=username,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )
