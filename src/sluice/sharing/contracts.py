"""A grant as a contract: its terms as one canonical JSON document, their digest, and the parties' signed
acceptances (Ed25519 with the platform key, the same receipts the gateway gives).

Anyone holding a contract and the platform's public key can check it offline: the digest is recomputed from
the terms, and every signature must cover that digest. A change to any term changes the digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.log import canonical_json
from sluice.db.session import signer_of
from sluice.gateway.models import Grant
from sluice.gateway.receipts import Receipt, sign, verify
from sluice.sharing.models import GrantSignature
from sluice.sharing.schemas import Contract, ContractSignature

CONTRACT_KIND = "sluice.grant/1"


def terms_of(grant: Grant, resource: str, assigner: str, assignee: str) -> dict[str, Any]:
    """The contract's terms: everything the gateway enforces and both sides agreed to."""
    return {
        "contract": CONTRACT_KIND,
        "grant": grant.id,
        "application": grant.application_id,
        "standing": grant.standing,
        "assigner": assigner,
        "assignee": assignee,
        "resource": resource,
        "fields": json.loads(grant.fields_json),
        "masks": json.loads(grant.masks_json),
        "row_filter": grant.row_filter,
        "purpose": grant.purpose,
        "legal_basis": grant.legal_basis,
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat(),
        "quota": grant.quota,
        "delivery": json.loads(grant.delivery_json),
        "obligations": json.loads(grant.obligations_json),
    }


def digest_of(terms: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(terms).encode("utf-8")).hexdigest()


def signature_body(
    grant_id: int, terms_digest: str, *, party: str, organisation: str | None, account: str, at: datetime
) -> dict[str, Any]:
    return {
        "contract": CONTRACT_KIND,
        "grant": grant_id,
        "terms_digest": terms_digest,
        "party": party,
        "organisation": organisation,
        "account": account,
        "at": at.isoformat(),
    }


def sign_terms(
    session: Session,
    grant: Grant,
    *,
    party: str,
    organisation: str | None,
    account: str,
    at: datetime,
    audit_event: int | None = None,
) -> GrantSignature:
    """Sign ``party``'s acceptance of the grant's current terms and keep the signature."""
    receipt = sign(
        signer_of(session),
        signature_body(grant.id, grant.terms_digest, party=party, organisation=organisation, account=account, at=at),
    )
    row = GrantSignature(
        grant_id=grant.id,
        party=party,
        organisation=organisation,
        account=account,
        at=at,
        terms_digest=grant.terms_digest,
        key_id=receipt.key_id,
        signature=receipt.signature,
        audit_event=audit_event,
    )
    session.add(row)
    return row


def contract_of(session: Session, grant: Grant, terms: dict[str, Any]) -> Contract:
    rows = session.scalars(
        select(GrantSignature).where(GrantSignature.grant_id == grant.id).order_by(GrantSignature.id)
    ).all()
    signatures = [
        ContractSignature(
            party=row.party,
            organisation=row.organisation,
            account=row.account,
            at=row.at,
            receipt=Receipt(
                body={
                    **signature_body(
                        grant.id,
                        row.terms_digest,
                        party=row.party,
                        organisation=row.organisation,
                        account=row.account,
                        at=row.at,
                    ),
                    "key_id": row.key_id,
                },
                signature=row.signature,
                key_id=row.key_id,
            ),
        )
        for row in rows
    ]
    return Contract(
        grant=grant.id, terms=terms, terms_digest=digest_of(terms), signatures=signatures, status=grant.status
    )


def contract_problems(contract: Contract, keys: Mapping[str, str] | str) -> list[str]:
    """What is wrong with a contract, in words (empty: the terms are intact and every signature holds).
    ``keys``: the platform's public keys by key id (``GET /api/v1/keys``), or one PEM key."""
    problems = []
    digest = digest_of(contract.terms)
    if digest != contract.terms_digest:
        problems.append(f"the terms do not hash to the stated digest ({digest} ≠ {contract.terms_digest})")
    parties = set()
    for signature in contract.signatures:
        body = signature.receipt.body
        party = str(body.get("party"))  # what was signed, not the label beside it
        who = f"{party} {body.get('account')}"
        if body.get("terms_digest") != digest:
            problems.append(f"the signature of {who} covers other terms")
        if body.get("grant") != contract.grant:
            problems.append(f"the signature of {who} is for another grant")
        pem = keys if isinstance(keys, str) else keys.get(signature.receipt.key_id)
        if pem is None:
            problems.append(f"the signature of {who} names key {signature.receipt.key_id}, which is not given")
        elif not verify(signature.receipt, pem):
            problems.append(f"the signature of {who} does not verify with key {signature.receipt.key_id}")
        parties.add(party)
    missing = {"assigner", "assignee"} - parties if "platform" not in parties else set()
    if missing:
        problems.append(f"no signature of the {' and '.join(sorted(missing))}")
    return problems
