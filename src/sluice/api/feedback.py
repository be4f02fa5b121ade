"""REST routes of feedback: anyone sends it on a dataset (rate-limited per address); the dataset's department
reads and answers it."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from sluice.api.deps import ActorDep, Cursor, Limit, ReadSessionDep, RowId, SessionDep
from sluice.errors import Exhausted
from sluice.feedback import service
from sluice.feedback.schemas import FeedbackAnswer, FeedbackCreate, FeedbackPublic, FeedbackReceipt, FeedbackStatus
from sluice.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["feedback"])


def feedback_allowed(request: Request) -> None:
    """A few messages per client address per minute, signed in or not: feedback may not become a flood."""
    client = request.client.host if request.client else "unknown"
    wait = request.app.state.feedback_limiter.take(client)
    if wait is not None:
        raise Exhausted(
            f"too much feedback from {client}; try again in {int(wait) + 1} seconds", retry_after=int(wait) + 1
        )


@router.post(
    "/resources/{code}/feedback",
    response_model=FeedbackReceipt,
    status_code=status.HTTP_201_CREATED,
    summary="Tell a dataset's department about an error (no token needed)",
)
def give_feedback(
    request: Request, session: SessionDep, actor: ActorDep, code: str, data: FeedbackCreate
) -> FeedbackReceipt:
    feedback_allowed(request)
    return service.give_feedback(session, actor, code=code, data=data)


@router.get("/feedback", response_model=Page[FeedbackPublic], summary="Feedback on my department's datasets")
def list_feedback(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    box: str = "to_me",
    status: FeedbackStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[FeedbackPublic]:
    """``box=to_me`` (default): about my department's datasets; ``box=all``: the manager's and auditor's view."""
    return service.list_feedback(session, actor, box=box, status=status, cursor=cursor, limit=limit)


@router.post("/feedback/{feedback_id}/answer", response_model=FeedbackPublic, summary="Answer feedback")
def answer_feedback(session: SessionDep, actor: ActorDep, feedback_id: RowId, data: FeedbackAnswer) -> FeedbackPublic:
    return service.answer_feedback(session, actor, feedback_id=feedback_id, data=data)
