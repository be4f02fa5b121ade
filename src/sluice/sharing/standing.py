"""Standing grants: an unconditional resource (无条件共享) is usable at once by any government department's
consumer — on first use for a purpose the platform issues a grant for it, recorded, signed and audited, with
sensitive fields masked. Enterprises and the public never get one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.schemas import ResourceDescription
from sluice.catalog.vocab import Grade, SharingType
from sluice.db.session import now, settings_of
from sluice.gateway.models import Grant
from sluice.gateway.schemas import Delivery
from sluice.gateway.terms import default_masks
from sluice.identity.actor import Actor
from sluice.identity.roles import OrgKind, Role
from sluice.sharing.contracts import sign_terms
from sluice.sharing.grants import new_grant
from sluice.sharing.schemas import Obligations, Terms
from sluice.sharing.states import GrantState, Party
from sluice.sharing.steps import add_history


def may_stand(actor: Actor, resource: Resource) -> bool:
    """Whether ``actor`` gets a standing grant for ``resource`` instead of having to apply."""
    return (
        resource.visible
        and resource.sharing_type == SharingType.UNCONDITIONAL.value
        and resource.grade == Grade.GENERAL.value  # important data needs a countersigned application
        and actor.is_user
        and actor.org_kind is OrgKind.DEPARTMENT
        and actor.has(Role.CONSUMER)
        and actor.org_id is not None
        and actor.org_id != resource.org_id
    )


def issue_standing_grant(
    session: Session, actor: Actor, resource: Resource, description: ResourceDescription, purpose: str
) -> Grant:
    """Every field, sensitive ones masked, for ``purpose``, by query or download, for the standing term."""
    at = now(session)
    names = [f.name for f in description.fields]
    terms = Terms(
        fields=names,
        masks=default_masks(description.fields, names),
        row_filter=None,
        valid_from=at,
        valid_until=at + timedelta(days=settings_of(session).standing_grant_days),
        quota=None,
        delivery=[Delivery.QUERY, Delivery.DOWNLOAD],
        obligations=Obligations(),
    )
    assert actor.org_id is not None  # may_stand
    grant = new_grant(
        session,
        resource,
        actor.org_id,
        terms,
        purpose=" ".join(purpose.split()),
        legal_basis=f"{resource.code} is shared unconditionally (无条件共享)",
        created_by="platform",
        status=GrantState.ACTIVE,
        standing=True,
    )
    event = record(
        session,
        actor,
        "grant.standing",
        f"grant:{grant.id}",
        resource=resource.code,
        purpose=grant.purpose,
        masks={k: v.kind.value for k, v in terms.masks.items()},
        terms_digest=grant.terms_digest,
    )
    sign_terms(session, grant, party="platform", organisation=None, account="platform", at=at, audit_event=event.id)
    sign_terms(
        session,
        grant,
        party="assignee",
        organisation=actor.org_code,
        account=actor.username,
        at=at,
        audit_event=event.id,
    )
    add_history(
        session,
        actor,
        subject="grant",
        subject_id=grant.id,
        party=Party.PLATFORM,
        action="issue",
        from_status=None,
        to_status=grant.status,
    )
    return grant
