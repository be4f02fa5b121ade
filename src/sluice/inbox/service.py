"""Use cases of the inbox: what needs my attention, and marking it read."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from sluice.db.session import now
from sluice.errors import NotFound
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.inbox.models import Notice
from sluice.usecase import use_case


class NoticePublic(BaseModel):
    id: int
    kind: str
    target: str
    message: str
    detail: dict[str, object]
    created_at: datetime
    read_at: datetime | None
    read_by: str | None


def _mine(actor: Actor) -> ColumnElement[bool]:
    roles = [role.value for role in actor.roles]
    clauses: list[ColumnElement[bool]] = [Notice.role.in_(roles)] if roles else []
    if actor.org_id is not None:
        clauses.append(Notice.org_id == actor.org_id)
    return or_(*clauses) if clauses else false()


@use_case(signed_in)
def list_notices(session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100) -> list[NoticePublic]:
    """Notices for the caller's organisation and for its roles, newest first."""
    query = select(Notice).where(_mine(actor)).order_by(Notice.id.desc()).limit(limit)
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return [_public(n) for n in session.scalars(query)]


@use_case(signed_in)
def mark_read(session: Session, actor: Actor, *, notice_id: int) -> NoticePublic:
    notice = session.scalars(select(Notice).where(Notice.id == notice_id, _mine(actor))).one_or_none()
    if notice is None:
        raise NotFound(f"no notice {notice_id} for you", notice=notice_id)
    if notice.read_at is None:
        notice.read_at, notice.read_by = now(session), actor.username
    return _public(notice)


def _public(notice: Notice) -> NoticePublic:
    return NoticePublic(
        id=notice.id,
        kind=notice.kind,
        target=notice.target,
        message=notice.message,
        detail=json.loads(notice.detail_json),
        created_at=notice.created_at,
        read_at=notice.read_at,
        read_by=notice.read_by,
    )
