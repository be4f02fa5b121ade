"""What the dual-control use cases take and return, and which roles may ask for and confirm each kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from sluice.identity.roles import Role


class ActionKind(StrEnum):
    VERSION_DELETE = "version.delete"  # remove a version's data for good (e.g. collected unlawfully)
    KEY_ROTATE = "key.rotate"  # replace the platform's signing key


@dataclass(frozen=True)
class Rule:
    askers: frozenset[Role]
    confirmers: frozenset[Role]
    target: str  # what the target names, for messages


RULES: dict[ActionKind, Rule] = {
    ActionKind.VERSION_DELETE: Rule(
        frozenset({Role.PROVIDER, Role.OPERATOR}), frozenset({Role.MANAGER}), "a version, as CODE@NUMBER"
    ),
    ActionKind.KEY_ROTATE: Rule(
        frozenset({Role.OPERATOR}), frozenset({Role.MANAGER}), "the signing key: 'signing-key'"
    ),
}
HOURS_TO_DECIDE = 72


class ActionRequest(BaseModel):
    kind: ActionKind
    target: str = Field(min_length=1, max_length=200, description="psb.residents@3 for a version; signing-key.")
    reason: str = Field(min_length=2, max_length=2000, description="Why: the second person decides on it.")


class Decision(BaseModel):
    reason: str = Field(default="", max_length=2000, description="Required to refuse.")


class ActionPublic(BaseModel):
    id: int
    kind: ActionKind
    target: str
    reason: str
    requested_by: str
    requested_roles: list[str]
    status: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    result: dict[str, Any] | None
