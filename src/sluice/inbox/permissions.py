"""Permission checks of the inbox's webhook use cases: each takes exactly its use case's arguments.

A webhook carries an organisation's notices out of the platform, so only that organisation's admin sets one
up. The operator may list, test and disable any (it runs the platform) and the auditor may read them; neither
ever sees a secret. Anyone else is told a webhook of another organisation does not exist.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sluice.errors import Forbidden, NotFound
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import PLATFORM_ROLES, Role
from sluice.inbox.models import Webhook
from sluice.inbox.schemas import WebhookCreate

MANAGERS = frozenset({Role.OPERATOR})  # besides the organisation's own admin
READERS = frozenset({Role.OPERATOR, Role.AUDITOR})


def can_register_webhook(session: Session, actor: Actor, *, data: WebhookCreate, org_code: str | None = None) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.has(Role.ORG_ADMIN) and org_code in (None, actor.org_code):
        return
    raise Forbidden(
        "a webhook is registered by an org_admin, for their own organisation",
        required_role=Role.ORG_ADMIN.value,
        org_code=org_code,
    )


def can_list_webhooks(session: Session, actor: Actor, *, org_code: str | None = None) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.roles & READERS:
        return
    if actor.has(Role.ORG_ADMIN):
        if org_code in (None, actor.org_code):
            return
        raise Forbidden(
            f"as org_admin you may list only your own organisation's webhooks: pass organisation={actor.org_code}"
        )
    raise Forbidden("listing webhooks needs the org_admin role", required_role=Role.ORG_ADMIN.value)


def can_disable_webhook(session: Session, actor: Actor, *, webhook_id: int) -> None:
    _may_see(session, actor, webhook_id, MANAGERS)


def can_send_test(session: Session, actor: Actor, *, webhook_id: int) -> None:
    _may_see(session, actor, webhook_id, MANAGERS)


def can_list_deliveries(
    session: Session, actor: Actor, *, webhook_id: int, cursor: str | None = None, limit: int = 50
) -> None:
    _may_see(session, actor, webhook_id, READERS)


def _may_see(session: Session, actor: Actor, webhook_id: int, platform_roles: frozenset[Role]) -> None:
    """Pass the system, the given platform roles and the webhook organisation's admin; another organisation's
    accounts are told it does not exist, so webhook ids cannot be probed."""
    signed_in(session, actor)
    if actor.is_system or actor.roles & platform_roles:
        return
    if actor.roles & PLATFORM_ROLES:
        allowed = " and ".join(sorted(r.value for r in platform_roles))
        raise Forbidden(f"of the platform roles only the {allowed} may do this to an organisation's webhook")
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or not actor.belongs_to(webhook.org_id):
        raise NotFound(f"no webhook {webhook_id} that you may see", webhook_id=webhook_id)
    if not actor.has(Role.ORG_ADMIN):
        raise Forbidden("your organisation's webhooks are managed by its org_admin", required_role=Role.ORG_ADMIN.value)
