"""Posting a notice, inside the transaction of the change it is about."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from sluice.db.session import now
from sluice.identity.roles import Role
from sluice.inbox.models import Notice


def notify(
    session: Session,
    *,
    kind: str,
    target: str,
    message: str,
    org_id: int | None = None,
    role: Role | None = None,
    detail: dict[str, Any] | None = None,
) -> Notice:
    """Tell an organisation's accounts (``org_id``) or every holder of a platform role (``role``)."""
    if (org_id is None) == (role is None):
        raise ValueError("a notice goes to an organisation or to a role")
    notice = Notice(
        org_id=org_id,
        role=role.value if role else None,
        kind=kind,
        target=target,
        message=message,
        detail_json=json.dumps(detail or {}, ensure_ascii=False, default=str),
        created_at=now(session),
    )
    session.add(notice)
    return notice
