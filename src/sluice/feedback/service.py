"""Use cases of feedback: anyone gives it on a dataset they can see; the dataset's department reads and
answers it. The sender's contact is shown to that department only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog.models import Resource
from sluice.catalog.queries import visible_to
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Forbidden, NotFound
from sluice.feedback import permissions as can
from sluice.feedback.models import Feedback
from sluice.feedback.schemas import (
    FeedbackAnswer,
    FeedbackCreate,
    FeedbackKind,
    FeedbackPublic,
    FeedbackReceipt,
    FeedbackStatus,
)
from sluice.identity.actor import Actor
from sluice.inbox.models import Notice
from sluice.inbox.post import notify
from sluice.pagination import Page, check_limit, decode_cursor, keyset_page
from sluice.sharing.boxes import box_condition
from sluice.usecase import use_case


@use_case(can.can_give)
def give_feedback(session: Session, actor: Actor, *, code: str, data: FeedbackCreate) -> FeedbackReceipt:
    """Say what looks wrong in a published dataset (or ask about it); its department is told."""
    resource = session.scalars(select(Resource).where(Resource.code == code, visible_to(actor))).one_or_none()
    if resource is None or not resource.visible:
        raise NotFound(f"no published dataset {code!r} that you may see", resource=code)
    at = now(session)
    feedback = Feedback(
        resource_id=resource.id,
        provider_org_id=resource.org_id,
        kind=data.kind.value,
        message=data.message.strip(),
        contact=(data.contact or "").strip() or None,
        given_by=actor.username,
        status=FeedbackStatus.OPEN.value,
        created_at=at,
    )
    session.add(feedback)
    session.flush()
    _tell_department(session, resource, feedback.id)
    record(session, actor, "feedback.give", f"resource:{code}", feedback=feedback.id, kind=data.kind.value)
    return FeedbackReceipt(id=feedback.id, resource=code, status=FeedbackStatus.OPEN, created_at=at)


@use_case(can.can_read)
def list_feedback(
    session: Session,
    actor: Actor,
    *,
    box: str = "to_me",
    status: FeedbackStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[FeedbackPublic]:
    """``to_me``: about my department's datasets; ``all``: the manager's and the auditor's. Newest first."""
    check_limit(limit, settings_of(session).page_size_max)
    mine = box_condition(actor, box, own={"to_me": Feedback.provider_org_id}, overseen={"all": None}, what="feedback")
    query = select(Feedback, Resource.code).join(Resource, Resource.id == Feedback.resource_id).where(mine)
    if status is not None:
        query = query.where(Feedback.status == status.value)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(Feedback.id < after)
    rows = session.execute(query.order_by(Feedback.id.desc()).limit(limit + 1)).all()
    return keyset_page([_Row(f, code) for f, code in rows], limit, lambda row: _public(actor, row.feedback, row.code))


@dataclass(frozen=True)
class _Row:
    feedback: Feedback
    code: str

    @property
    def id(self) -> int:
        return self.feedback.id


@use_case(can.can_answer)
def answer_feedback(session: Session, actor: Actor, *, feedback_id: int, data: FeedbackAnswer) -> FeedbackPublic:
    """The dataset's department answers (once); the answer is kept with the feedback."""
    found = session.execute(
        select(Feedback, Resource.code)
        .join(Resource, Resource.id == Feedback.resource_id)
        .where(Feedback.id == feedback_id)
        .with_for_update(of=Feedback)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no feedback {feedback_id}", feedback=feedback_id)
    feedback, code = found
    if not actor.is_system and feedback.provider_org_id != actor.org_id:
        raise Forbidden(f"feedback {feedback_id} is about another department's data", feedback=feedback_id)
    if feedback.status != FeedbackStatus.OPEN.value:
        raise Conflict(f"feedback {feedback_id} was already answered by {feedback.answered_by}", feedback=feedback_id)
    feedback.status = FeedbackStatus.ANSWERED.value
    feedback.answer = data.answer.strip()
    feedback.answered_by = actor.username
    feedback.answered_at = now(session)
    record(session, actor, "feedback.answer", f"resource:{code}", feedback=feedback.id)
    return _public(actor, feedback, code)


def _tell_department(session: Session, resource: Resource, feedback_id: int) -> None:
    """One unread notice per dataset however much arrives (a flood of feedback is not a flood of notices or
    webhook calls), and none of the sender's words: they are read on the feedback page."""
    unread = session.scalar(
        select(Notice.id).where(
            Notice.org_id == resource.org_id,
            Notice.kind == "feedback.new",
            Notice.target == f"resource:{resource.code}",
            Notice.read_at.is_(None),
        )
    )
    if unread is not None:
        return
    notify(
        session,
        org_id=resource.org_id,
        kind="feedback.new",
        target=f"resource:{resource.code}",
        message=f"New feedback on {resource.code}: read and answer it on the feedback page.",
        detail={"feedback": feedback_id, "resource": resource.code},
    )


def _public(actor: Actor, feedback: Feedback, code: str) -> FeedbackPublic:
    theirs = actor.is_system or feedback.provider_org_id == actor.org_id
    return FeedbackPublic(
        id=feedback.id,
        resource=code,
        status=FeedbackStatus(feedback.status),
        created_at=feedback.created_at,
        kind=FeedbackKind(feedback.kind),
        message=feedback.message,
        contact=feedback.contact if theirs else None,
        given_by=feedback.given_by,
        answer=feedback.answer,
        answered_by=feedback.answered_by,
        answered_at=feedback.answered_at,
    )
