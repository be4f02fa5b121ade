"""Grant rows as the workflow writes them and as users read them (shared by the use cases, standing grants and
the shell)."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.catalog.models import Resource
from sluice.db.session import now
from sluice.gateway.models import Grant
from sluice.gateway.schemas import Delivery, GrantPublic, MaskSpec
from sluice.identity.models import Organisation
from sluice.sharing.contracts import digest_of, terms_of
from sluice.sharing.schemas import Terms
from sluice.sharing.states import GrantState


def new_grant(
    session: Session,
    resource: Resource,
    assignee_org_id: int,
    terms: Terms,
    *,
    purpose: str,
    legal_basis: str,
    created_by: str,
    status: GrantState,
    application_id: int | None = None,
    standing: bool = False,
) -> Grant:
    """A grant row with its terms' digest (signatures are added by the caller)."""
    at = now(session)
    grant = Grant(
        resource_id=resource.id,
        assigner_org_id=resource.org_id,
        assignee_org_id=assignee_org_id,
        fields_json=json.dumps(terms.fields),
        masks_json=json.dumps({k: v.model_dump(mode="json") for k, v in terms.masks.items()}),
        row_filter=terms.row_filter,
        purpose=purpose,
        legal_basis=legal_basis,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        quota=terms.quota,
        calls_used=0,
        delivery_json=json.dumps([d.value for d in terms.delivery]),
        obligations_json=terms.obligations.model_dump_json(),
        status=status.value,
        application_id=application_id,
        standing=standing,
        key_hex=secrets.token_hex(32),
        created_by=created_by,
        created_at=at,
        status_at=at,
    )
    session.add(grant)
    session.flush()
    grant.terms_digest = digest_of(terms_document(session, grant))
    return grant


def grant_public(session: Session, grant: Grant) -> GrantPublic:
    codes = org_codes(session, grant.assigner_org_id, grant.assignee_org_id)
    resource = session.get_one(Resource, grant.resource_id)
    return GrantPublic(
        id=grant.id,
        resource=resource.code,
        assigner=codes[grant.assigner_org_id],
        assignee=codes[grant.assignee_org_id],
        application=grant.application_id,
        standing=grant.standing,
        fields=json.loads(grant.fields_json),
        masks={k: MaskSpec.model_validate(v) for k, v in json.loads(grant.masks_json).items()},
        row_filter=grant.row_filter,
        purpose=grant.purpose,
        valid_from=grant.valid_from,
        valid_until=grant.valid_until,
        quota=grant.quota,
        calls_used=grant.calls_used,
        calls_left=None if grant.quota is None else max(grant.quota - grant.calls_used, 0),
        delivery=[Delivery(d) for d in json.loads(grant.delivery_json)],
        legal_basis=grant.legal_basis,
        obligations=json.loads(grant.obligations_json),
        terms_digest=grant.terms_digest,
        status=grant.status,
        status_reason=grant.status_reason,
    )


def terms_document(session: Session, grant: Grant) -> dict[str, object]:
    codes = org_codes(session, grant.assigner_org_id, grant.assignee_org_id)
    resource = session.get_one(Resource, grant.resource_id)
    return terms_of(grant, resource.code, codes[grant.assigner_org_id], codes[grant.assignee_org_id])


def org_codes(session: Session, *ids: int) -> dict[int, str]:
    rows = session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(ids))).all()
    return {row.id: row.code for row in rows}
