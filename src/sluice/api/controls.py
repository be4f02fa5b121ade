"""REST routes of dual control: critical actions asked for by one person and decided by another."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sluice.api.deps import ActorDep, ReadSessionDep, RowId, SessionDep
from sluice.controls import service
from sluice.controls.schemas import ActionPublic, ActionRequest, Decision

router = APIRouter(prefix="/api/v1", tags=["controls"])


@router.post(
    "/controls", response_model=ActionPublic, status_code=status.HTTP_201_CREATED, summary="Ask for a critical action"
)
def ask_for_action(session: SessionDep, actor: ActorDep, data: ActionRequest) -> ActionPublic:
    """Deleting a version's data (provider or operator asks) or rotating the signing key (operator asks); a
    manager — another person, another role — confirms or refuses."""
    return service.ask_for_action(session, actor, data=data)


@router.get("/controls", response_model=list[ActionPublic], summary="Critical actions asked for")
def list_actions(
    session: ReadSessionDep, actor: ActorDep, status_: Annotated[str | None, Query(alias="status")] = None
) -> list[ActionPublic]:
    return service.list_actions(session, actor, status=status_)


@router.post("/controls/{action_id}/confirm", response_model=ActionPublic, summary="Confirm (and carry out)")
def confirm_action(session: SessionDep, actor: ActorDep, action_id: RowId, decision: Decision) -> ActionPublic:
    return service.confirm_action(session, actor, action_id=action_id, decision=decision)


@router.post("/controls/{action_id}/refuse", response_model=ActionPublic, summary="Refuse, with a reason")
def refuse_action(session: SessionDep, actor: ActorDep, action_id: RowId, decision: Decision) -> ActionPublic:
    return service.refuse_action(session, actor, action_id=action_id, decision=decision)


@router.post("/controls/{action_id}/cancel", response_model=ActionPublic, summary="Cancel your own request")
def cancel_action(session: SessionDep, actor: ActorDep, action_id: RowId) -> ActionPublic:
    return service.cancel_action(session, actor, action_id=action_id)
