"""Identity use cases: organisations, accounts, roles, separation of duties, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.models import AuditEvent
from sluice.clock import FixedClock
from sluice.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from sluice.identity import credentials, service
from sluice.identity.actor import Actor
from sluice.identity.authn import check_token, record_token_use
from sluice.identity.models import ApiToken
from sluice.identity.roles import OrgKind, Role
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.platform import Platform
from tests.conftest import START, SYSTEM


def add_org(session: Session, code: str, kind: OrgKind = OrgKind.DEPARTMENT) -> None:
    service.create_organisation(
        session, SYSTEM, data=OrganisationCreate(code=code, name_zh=code, name_en=code, kind=kind)
    )


def add_user(session: Session, username: str, org: str, *roles: Role, actor: Actor = SYSTEM) -> None:
    service.create_user(session, actor, data=UserCreate(username=username, org_code=org, roles=list(roles)))


def as_user(session: Session, username: str) -> Actor:
    token = service.create_token(session, SYSTEM, username=username)
    return check_token(session, token.token).actor


@pytest.fixture
def db(platform: Platform) -> Iterator[Session]:
    """A session with the platform organisation, one department and the three platform accounts."""
    with platform.transaction() as session:
        add_org(session, "platform", OrgKind.PLATFORM)
        add_org(session, "psb")
        add_org(session, "civil")
        add_user(session, "op", "platform", Role.OPERATOR)
        add_user(session, "boss", "platform", Role.MANAGER)
        add_user(session, "watch", "platform", Role.AUDITOR)
        add_user(session, "psb-admin", "psb", Role.ORG_ADMIN, Role.PROVIDER)
        add_user(session, "civil-analyst", "civil", Role.CONSUMER)
    session = platform.sessions()
    yield session
    session.close()


def test_organisation_codes_are_unique(db: Session) -> None:
    with pytest.raises(Conflict, match="psb"):
        add_org(db, "psb")


def test_an_account_needs_an_existing_organisation(db: Session) -> None:
    with pytest.raises(NotFound, match="nowhere"):
        add_user(db, "x-user", "nowhere")


def test_usernames_are_unique(db: Session) -> None:
    with pytest.raises(Conflict, match="op"):
        add_user(db, "op", "platform", Role.AUDITOR)


def test_creating_an_account_with_two_platform_roles_is_refused(db: Session) -> None:
    with pytest.raises(Invalid, match="separation of management, operation and review"):
        add_user(db, "both", "platform", Role.MANAGER, Role.AUDITOR)
    assert db.scalar(select(AuditEvent).where(AuditEvent.target == "user:both")) is None


def test_changing_an_account_to_hold_two_platform_roles_is_refused(db: Session) -> None:
    with pytest.raises(Invalid) as refused:
        service.set_roles(db, SYSTEM, username="boss", roles=frozenset({Role.MANAGER, Role.OPERATOR}))
    assert refused.value.detail["roles"] == ["manager", "operator"]
    assert service.get_user(db, SYSTEM, username="boss").roles == [Role.MANAGER]


@pytest.mark.parametrize("new_role", [Role.MANAGER, Role.AUDITOR])
def test_the_operator_cannot_grant_itself_manager_or_auditor(db: Session, new_role: Role) -> None:
    operator = as_user(db, "op")
    with pytest.raises(Forbidden, match="your own roles"):
        service.set_roles(db, operator, username="op", roles=frozenset({new_role}))
    assert service.get_user(db, SYSTEM, username="op").roles == [Role.OPERATOR]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR, Role.OPERATOR])
def test_the_operator_cannot_create_a_platform_account_over_the_network(db: Session, role: Role) -> None:
    with pytest.raises(Forbidden, match="shell"):
        add_user(db, "puppet", "platform", role, actor=as_user(db, "op"))


def test_the_operator_cannot_promote_or_demote_platform_accounts(db: Session) -> None:
    operator = as_user(db, "op")
    add_user(db, "spare", "platform")  # a platform account with no role yet (from the shell)
    with pytest.raises(Forbidden, match="shell"):
        service.set_roles(db, operator, username="spare", roles=frozenset({Role.MANAGER}))
    with pytest.raises(Forbidden, match="shell"):
        service.set_roles(db, operator, username="watch", roles=frozenset())
    assert service.get_user(db, SYSTEM, username="watch").roles == [Role.AUDITOR]


@pytest.mark.parametrize("target", ["boss", "watch"])
def test_the_operator_cannot_disable_the_manager_or_the_auditor(db: Session, target: str) -> None:
    with pytest.raises(Forbidden, match="shell"):
        service.disable_user(db, as_user(db, "op"), username=target)
    assert not service.get_user(db, SYSTEM, username=target).disabled


def test_initial_passwords_come_only_from_the_shell(db: Session) -> None:
    data = UserCreate(username="psb-clerk", org_code="psb", roles=[Role.PROVIDER])
    with pytest.raises(Forbidden, match="shell"):
        service.create_user(db, as_user(db, "op"), data=data, password="a long enough secret")
    assert service.create_user(db, SYSTEM, data=data, password="a long enough secret").has_password


def test_the_operator_manages_department_accounts_and_it_is_recorded(db: Session) -> None:
    operator = as_user(db, "op")
    updated = service.set_roles(db, operator, username="psb-admin", roles=frozenset({Role.PROVIDER}))
    assert updated.roles == [Role.PROVIDER]
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.roles")).one()
    assert event.actor == "op"
    assert '"before":["org_admin","provider"]' in event.entry
    assert '"after":["provider"]' in event.entry


def test_reserved_names_cannot_be_accounts() -> None:
    from pydantic import ValidationError

    for name in ("system", "anonymous"):
        with pytest.raises(ValidationError, match="reserved"):
            UserCreate(username=name, org_code="psb")


def test_manager_and_auditor_cannot_create_accounts(db: Session) -> None:
    for name in ("boss", "watch"):
        with pytest.raises(Forbidden):
            add_user(db, f"new-{name}", "psb", Role.CONSUMER, actor=as_user(db, name))


def test_an_org_admin_manages_only_its_own_organisation_with_organisation_roles(db: Session) -> None:
    admin = as_user(db, "psb-admin")
    add_user(db, "psb-clerk", "psb", Role.PROVIDER, actor=admin)
    with pytest.raises(Forbidden, match="own organisation"):
        add_user(db, "civil-spy", "civil", Role.CONSUMER, actor=admin)
    with pytest.raises(Forbidden, match="shell"):
        add_user(db, "psb-op", "psb", Role.OPERATOR, actor=admin)
    with pytest.raises(NotFound):
        service.disable_user(db, admin, username="civil-analyst")
    with pytest.raises(NotFound):
        service.set_roles(db, admin, username="civil-analyst", roles=frozenset({Role.ORG_ADMIN}))
    with pytest.raises(Forbidden, match="shell"):
        service.set_roles(db, admin, username="psb-clerk", roles=frozenset({Role.MANAGER}))
    service.set_roles(db, admin, username="psb-clerk", roles=frozenset({Role.PROVIDER, Role.CONSUMER}))
    service.disable_user(db, admin, username="psb-clerk")
    assert service.get_user(db, SYSTEM, username="psb-clerk").disabled
    service.enable_user(db, admin, username="psb-clerk")
    assert not service.get_user(db, SYSTEM, username="psb-clerk").disabled


def test_an_account_disabled_by_the_operator_is_not_re_enabled_by_its_org_admin(db: Session) -> None:
    add_user(db, "psb-clerk", "psb", Role.PROVIDER)
    service.disable_user(db, as_user(db, "op"), username="psb-clerk")
    with pytest.raises(Forbidden, match="disabled by op"):
        service.enable_user(db, as_user(db, "psb-admin"), username="psb-clerk")
    service.disable_user(db, SYSTEM, username="psb-admin")
    with pytest.raises(Forbidden, match="disabled by system"):
        service.enable_user(db, as_user(db, "op"), username="psb-admin")
    service.enable_user(db, SYSTEM, username="psb-admin")


def test_who_cannot_see_an_account_is_told_it_does_not_exist(db: Session) -> None:
    analyst = as_user(db, "civil-analyst")
    for username in ("boss", "ghost"):
        with pytest.raises(NotFound, match="that you may see"):
            service.get_user(db, analyst, username=username)
        with pytest.raises(Forbidden, match="operator or org_admin"):
            service.disable_user(db, analyst, username=username)
    admin = as_user(db, "psb-admin")
    for username in ("boss", "ghost"):
        with pytest.raises(NotFound, match="that you may see"):
            service.disable_user(db, admin, username=username)


def test_a_consumer_cannot_list_or_create_accounts(db: Session) -> None:
    analyst = as_user(db, "civil-analyst")
    with pytest.raises(Forbidden):
        service.list_users(db, analyst)
    with pytest.raises(Forbidden):
        add_user(db, "civil-other", "civil", Role.CONSUMER, actor=analyst)


def test_the_anonymous_public_must_sign_in_to_see_accounts(db: Session) -> None:
    with pytest.raises(Unauthenticated):
        service.list_users(db, Actor.anonymous())
    with pytest.raises(Unauthenticated):
        service.whoami(db, Actor.anonymous())


def test_an_org_admin_lists_its_own_organisation_only(db: Session) -> None:
    admin = as_user(db, "psb-admin")
    assert [u.username for u in service.list_users(db, admin, org_code="psb").items] == ["psb-admin"]
    with pytest.raises(Forbidden, match="organisation=psb"):
        service.list_users(db, admin)


def test_accounts_are_listed_in_pages(db: Session) -> None:
    first = service.list_users(db, SYSTEM, limit=2)
    second = service.list_users(db, SYSTEM, limit=2, cursor=first.next)
    third = service.list_users(db, SYSTEM, limit=2, cursor=second.next)
    names = [u.username for page in (first, second, third) for u in page.items]
    assert names == ["op", "boss", "watch", "psb-admin", "civil-analyst"]
    assert third.next is None


def test_a_forged_cursor_is_refused(db: Session) -> None:
    with pytest.raises(Invalid, match="cursor"):
        service.list_users(db, SYSTEM, cursor="not-a-cursor!")


def test_a_lost_race_keeps_the_rest_of_the_transaction(db: Session) -> None:
    """The database refuses a duplicate the use case's own check could not see; earlier work survives."""
    from sluice.db.errors import refused_as
    from sluice.identity.models import Organisation

    add_org(db, "tax")
    with pytest.raises(Conflict, match="raced"), refused_as(db, Conflict("raced")):
        db.add(Organisation(code="civil", name_zh="x", name_en="x", kind="department", created_at=START))
    assert service.get_organisation(db, SYSTEM, code="tax").code == "tax"


def test_nobody_can_disable_their_own_account(db: Session) -> None:
    with pytest.raises(Forbidden, match="your own account"):
        service.disable_user(db, as_user(db, "op"), username="op")


# --- tokens --------------------------------------------------------------------------------------------


def test_a_token_is_random_shown_once_and_stored_only_as_its_hash(db: Session) -> None:
    issued = service.create_token(db, SYSTEM, username="civil-analyst")
    other = service.create_token(db, SYSTEM, username="civil-analyst")
    assert issued.token != other.token
    assert len(issued.token) >= len(credentials.TOKEN_PREFIX) + 43  # 32 random bytes, base64url
    stored = db.get(ApiToken, issued.id)
    assert stored is not None
    assert stored.token_hash == credentials.token_hash(issued.token)
    assert issued.token not in {stored.token_hash, stored.prefix, stored.name}
    listed = service.list_tokens(db, SYSTEM, username="civil-analyst")
    assert issued.token not in str([t.model_dump_json() for t in listed])
    assert issued.token not in "".join(e.entry for e in db.scalars(select(AuditEvent)))


def test_a_token_identifies_its_account_and_records_its_last_use(db: Session, clock: FixedClock) -> None:
    issued = service.create_token(db, SYSTEM, username="civil-analyst")
    checked = check_token(db, issued.token)
    actor = checked.actor
    assert (actor.username, actor.org_code, actor.roles) == ("civil-analyst", "civil", frozenset({Role.CONSUMER}))
    assert checked.touch_due
    record_token_use(db, checked.token_id)
    assert db.get(ApiToken, issued.id).last_used_at == clock.now()  # type: ignore[union-attr]
    assert not check_token(db, issued.token).touch_due
    clock.advance(timedelta(minutes=1))
    assert check_token(db, issued.token).touch_due


def test_an_expired_token_is_refused(db: Session, clock: FixedClock) -> None:
    issued = service.create_token(db, SYSTEM, username="civil-analyst", expires_at=clock.now() + timedelta(hours=1))
    check_token(db, issued.token)
    clock.advance(timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="expired"):
        check_token(db, issued.token)


def test_an_expiry_in_the_past_is_refused(db: Session, clock: FixedClock) -> None:
    with pytest.raises(Invalid, match="future"):
        service.create_token(db, SYSTEM, username="civil-analyst", expires_at=clock.now() - timedelta(seconds=1))


def test_a_revoked_token_is_refused_at_once(db: Session) -> None:
    issued = service.create_token(db, SYSTEM, username="civil-analyst")
    owner = check_token(db, issued.token).actor
    service.revoke_token(db, owner, token_id=issued.id)
    with pytest.raises(Unauthenticated):
        check_token(db, issued.token)


def test_a_disabled_account_s_tokens_stop_working(db: Session) -> None:
    issued = service.create_token(db, SYSTEM, username="civil-analyst")
    service.disable_user(db, as_user(db, "op"), username="civil-analyst")
    with pytest.raises(Unauthenticated, match="disabled"):
        check_token(db, issued.token)
    service.enable_user(db, as_user(db, "op"), username="civil-analyst")
    assert check_token(db, issued.token).actor.username == "civil-analyst"


def test_unknown_and_malformed_tokens_are_refused(db: Session) -> None:
    for secret in ("", "slc_nope", "Bearer x", credentials.new_token()):
        with pytest.raises(Unauthenticated):
            check_token(db, secret)


def test_a_token_made_over_the_network_expires_and_never_outlives_its_maker(db: Session, clock: FixedClock) -> None:
    short = service.create_token(db, SYSTEM, username="civil-analyst", expires_at=clock.now() + timedelta(hours=12))
    maker = check_token(db, short.token).actor
    child = service.create_token(db, maker, username="civil-analyst")
    assert child.expires_at == short.expires_at
    with pytest.raises(Invalid, match="cannot outlive"):
        service.create_token(db, maker, username="civil-analyst", expires_at=clock.now() + timedelta(days=2))
    forever = service.create_token(db, SYSTEM, username="civil-analyst")
    assert forever.expires_at is None
    capped = service.create_token(db, check_token(db, forever.token).actor, username="civil-analyst")
    assert capped.expires_at == clock.now() + timedelta(days=365)


def test_nobody_can_make_a_token_for_someone_else_not_even_the_operator(db: Session) -> None:
    with pytest.raises(Forbidden, match="only for yourself"):
        service.create_token(db, as_user(db, "op"), username="boss")


def test_someone_else_s_token_cannot_be_revoked_or_probed(db: Session) -> None:
    issued = service.create_token(db, SYSTEM, username="boss")
    with pytest.raises(NotFound):
        service.revoke_token(db, as_user(db, "civil-analyst"), token_id=issued.id)
    with pytest.raises(NotFound):
        service.revoke_token(db, as_user(db, "civil-analyst"), token_id=999_999)
    service.revoke_token(db, as_user(db, "op"), token_id=issued.id)  # the operator may, for incidents


def test_whoami_describes_the_caller(db: Session) -> None:
    me = service.whoami(db, as_user(db, "psb-admin"))
    assert (me.username, me.organisation, me.roles) == ("psb-admin", "psb", [Role.ORG_ADMIN, Role.PROVIDER])
    assert me.authenticated_via.startswith("token:")
