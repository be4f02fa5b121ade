"""Receipts: what the platform signs for every delivered answer, so both sides can prove what was delivered.

A receipt is canonical JSON (sorted keys, no insignificant whitespace, UTF-8 — ``audit.log.canonical_json``)
of: the audit event's id, the SHA-256 of the normalised query and of the returned rows, the time, the
grants, the row count, the caller and the platform key's id; signed with the platform's Ed25519 key
(signature over the canonical bytes, base64). ``verify`` needs only the receipt and the public key
(``GET /api/v1/keys``) — it is what ``sluice receipt verify`` runs, and what a consumer can run anywhere.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field

from sluice.audit.log import canonical_json
from sluice.signing import Signer

ALGORITHM = "Ed25519"


class Receipt(BaseModel):
    body: dict[str, Any] = Field(description="What is signed, as canonical JSON.")
    signature: str = Field(description="Ed25519 signature over canonical_json(body), base64.")
    key_id: str
    algorithm: str = ALGORITHM


def sign(signer: Signer, body: dict[str, Any]) -> Receipt:
    key = signer.current()  # one key for the id named and the signature made, even while a rotation lands
    payload = {**body, "key_id": key.key_id}
    signature = key.sign(canonical_json(payload).encode("utf-8"))
    return Receipt(body=payload, signature=base64.b64encode(signature).decode("ascii"), key_id=key.key_id)


def verify(receipt: Receipt, public_key_pem: str) -> bool:
    """True when the receipt was signed by the holder of this key and not changed since."""
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey) or receipt.algorithm != ALGORITHM:
        return False
    if receipt.body.get("key_id") != receipt.key_id:
        return False
    try:
        key.verify(base64.b64decode(receipt.signature), canonical_json(receipt.body).encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True
