"""Who reads the log: tree heads and proofs are hashes only (anyone holding a receipt may check it); the
entries themselves are the auditor's (and the shell's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role


def can_check(session: Session, actor: Actor, **_: Any) -> None:
    """Tree heads and proofs: public."""


def can_read_entries(session: Session, actor: Actor, **_: Any) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.AUDITOR):
        return
    raise Forbidden("the log's entries are read by the auditor", required_role=Role.AUDITOR.value)


def can_sign_head(session: Session, actor: Actor, **_: Any) -> None:
    """A fresh tree head on demand: the auditor (to check up to now) or the operator."""
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.AUDITOR) or actor.has(Role.OPERATOR):
        return
    raise Forbidden("a fresh tree head is asked for by the auditor or the operator")
