"""REST routes of sharing: applications and their answers, grants (contracts), objections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sluice.api.deps import ActorDep, Cursor, Limit, ReadSessionDep, RowId, SessionDep
from sluice.gateway.schemas import GrantPublic
from sluice.objections import service as objections
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate, ObjectionPublic, ObjectionRate
from sluice.pagination import Page
from sluice.sharing import service
from sluice.sharing.schemas import Answer, ApplicationCreate, ApplicationPublic, Approval, Contract, Resubmission

applications = APIRouter(prefix="/api/v1", tags=["applications"])
grants = APIRouter(prefix="/api/v1", tags=["grants"])
objections_router = APIRouter(prefix="/api/v1", tags=["objections"])

Statuses = Annotated[list[str] | None, Query(description="Only these states (repeat the parameter).")]

# --- applications --------------------------------------------------------------------------------------------


@applications.post(
    "/applications",
    response_model=list[ApplicationPublic],
    status_code=status.HTTP_201_CREATED,
    summary="Apply for resources (one application per resource)",
)
def file_application(session: SessionDep, actor: ActorDep, data: ApplicationCreate) -> list[ApplicationPublic]:
    return service.file_application(session, actor, data=data)


@applications.get("/applications", response_model=Page[ApplicationPublic], summary="List applications")
def list_applications(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    box: Annotated[str, Query(description="mine | to_me | countersign | escalated | all")] = "mine",
    status_: Annotated[list[str] | None, Query(alias="status", description="Only these states.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ApplicationPublic]:
    return service.list_applications(session, actor, box=box, status=status_, cursor=cursor, limit=limit)


@applications.get(
    "/applications/{application_id}",
    response_model=ApplicationPublic,
    summary="One application, with its history",
)
def get_application(session: ReadSessionDep, actor: ActorDep, application_id: RowId) -> ApplicationPublic:
    return service.get_application(session, actor, application_id=application_id)


@applications.post(
    "/applications/{application_id}/approve",
    response_model=ApplicationPublic,
    summary="Approve (possibly narrowed)",
)
def approve_application(
    session: SessionDep, actor: ActorDep, application_id: RowId, approval: Approval
) -> ApplicationPublic:
    return service.approve_application(session, actor, application_id=application_id, approval=approval)


@applications.post(
    "/applications/{application_id}/countersign",
    response_model=ApplicationPublic,
    summary="Countersign important data (manager)",
)
def countersign_application(
    session: SessionDep, actor: ActorDep, application_id: RowId, answer: Answer
) -> ApplicationPublic:
    return service.countersign_application(session, actor, application_id=application_id, answer=answer)


@applications.post(
    "/applications/{application_id}/request-changes",
    response_model=ApplicationPublic,
    summary="Ask the applicant for changes",
)
def request_changes(session: SessionDep, actor: ActorDep, application_id: RowId, answer: Answer) -> ApplicationPublic:
    return service.request_changes(session, actor, application_id=application_id, answer=answer)


@applications.post(
    "/applications/{application_id}/refuse",
    response_model=ApplicationPublic,
    summary="Refuse, with a reason",
)
def refuse_application(
    session: SessionDep, actor: ActorDep, application_id: RowId, answer: Answer
) -> ApplicationPublic:
    return service.refuse_application(session, actor, application_id=application_id, answer=answer)


@applications.post(
    "/applications/{application_id}/resubmit",
    response_model=ApplicationPublic,
    summary="Resubmit with the changes asked for",
)
def resubmit_application(
    session: SessionDep, actor: ActorDep, application_id: RowId, changes: Resubmission
) -> ApplicationPublic:
    return service.resubmit_application(session, actor, application_id=application_id, changes=changes)


@applications.post("/applications/{application_id}/withdraw", response_model=ApplicationPublic, summary="Withdraw")
def withdraw_application(session: SessionDep, actor: ActorDep, application_id: RowId) -> ApplicationPublic:
    return service.withdraw_application(session, actor, application_id=application_id)


# --- grants --------------------------------------------------------------------------------------------------


@grants.get("/grants", response_model=list[GrantPublic], summary="Grants held (mine), given, or all")
def list_grants(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    box: Annotated[str, Query(description="mine | given | all")] = "mine",
    status_: Annotated[list[str] | None, Query(alias="status", description="Only these states.")] = None,
) -> list[GrantPublic]:
    return service.list_grants(session, actor, box=box, status=status_)


@grants.get("/grants/{grant_id}", response_model=GrantPublic, summary="One grant, with calls left")
def get_grant(session: ReadSessionDep, actor: ActorDep, grant_id: RowId) -> GrantPublic:
    return service.get_grant(session, actor, grant_id=grant_id)


@grants.get("/grants/{grant_id}/contract", response_model=Contract, summary="The grant as a signed contract")
def get_contract(session: ReadSessionDep, actor: ActorDep, grant_id: RowId) -> Contract:
    """Terms, their SHA-256 and each party's Ed25519-signed acceptance; verify with GET /api/v1/keys."""
    return service.get_contract(session, actor, grant_id=grant_id)


@grants.post("/grants/{grant_id}/accept", response_model=GrantPublic, summary="Accept narrowed terms")
def accept_grant(session: SessionDep, actor: ActorDep, grant_id: RowId) -> GrantPublic:
    return service.accept_grant(session, actor, grant_id=grant_id)


@grants.post("/grants/{grant_id}/decline", response_model=GrantPublic, summary="Decline narrowed terms")
def decline_grant(session: SessionDep, actor: ActorDep, grant_id: RowId, answer: Answer) -> GrantPublic:
    return service.decline_grant(session, actor, grant_id=grant_id, answer=answer)


@grants.post("/grants/{grant_id}/suspend", response_model=GrantPublic, summary="Suspend, with a reason")
def suspend_grant(session: SessionDep, actor: ActorDep, grant_id: RowId, answer: Answer) -> GrantPublic:
    return service.suspend_grant(session, actor, grant_id=grant_id, answer=answer)


@grants.post("/grants/{grant_id}/resume", response_model=GrantPublic, summary="Resume a suspended grant")
def resume_grant(session: SessionDep, actor: ActorDep, grant_id: RowId, answer: Answer) -> GrantPublic:
    return service.resume_grant(session, actor, grant_id=grant_id, answer=answer)


@grants.post("/grants/{grant_id}/revoke", response_model=GrantPublic, summary="Revoke, with a reason")
def revoke_grant(session: SessionDep, actor: ActorDep, grant_id: RowId, answer: Answer) -> GrantPublic:
    return service.revoke_grant(session, actor, grant_id=grant_id, answer=answer)


# --- objections ----------------------------------------------------------------------------------------------


@objections_router.post(
    "/objections",
    response_model=ObjectionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Flag a record as wrong",
)
def raise_objection(session: SessionDep, actor: ActorDep, data: ObjectionCreate) -> ObjectionPublic:
    return objections.raise_objection(session, actor, data=data)


@objections_router.get("/objections", response_model=Page[ObjectionPublic], summary="List objections")
def list_objections(
    session: ReadSessionDep,
    actor: ActorDep,
    *,
    box: Annotated[str, Query(description="mine | to_me | all")] = "mine",
    status_: Annotated[list[str] | None, Query(alias="status", description="Only these states.")] = None,
    resource: str | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ObjectionPublic]:
    return objections.list_objections(
        session, actor, box=box, status=status_, resource=resource, cursor=cursor, limit=limit
    )


@objections_router.get("/objections/rates", response_model=list[ObjectionRate], summary="Objection rates")
def objection_rates(
    session: ReadSessionDep,
    actor: ActorDep,
    by: Annotated[str, Query(description="resource | organisation")] = "resource",
) -> list[ObjectionRate]:
    return objections.objection_rates(session, actor, by=by)


@objections_router.get(
    "/objections/{objection_id}",
    response_model=ObjectionPublic,
    summary="One objection, with its history",
)
def get_objection(session: ReadSessionDep, actor: ActorDep, objection_id: RowId) -> ObjectionPublic:
    return objections.get_objection(session, actor, objection_id=objection_id)


@objections_router.post(
    "/objections/{objection_id}/accept",
    response_model=ObjectionPublic,
    summary="Accept (optionally naming the correcting version)",
)
def accept_objection(
    session: SessionDep, actor: ActorDep, objection_id: RowId, answer: ObjectionAnswer
) -> ObjectionPublic:
    return objections.accept_objection(session, actor, objection_id=objection_id, answer=answer)


@objections_router.post(
    "/objections/{objection_id}/correct",
    response_model=ObjectionPublic,
    summary="Link the correcting version",
)
def correct_objection(
    session: SessionDep, actor: ActorDep, objection_id: RowId, answer: ObjectionAnswer
) -> ObjectionPublic:
    return objections.correct_objection(session, actor, objection_id=objection_id, answer=answer)


@objections_router.post(
    "/objections/{objection_id}/reject",
    response_model=ObjectionPublic,
    summary="Reject, with a reason",
)
def reject_objection(
    session: SessionDep, actor: ActorDep, objection_id: RowId, answer: ObjectionAnswer
) -> ObjectionPublic:
    return objections.reject_objection(session, actor, objection_id=objection_id, answer=answer)


@objections_router.post("/objections/{objection_id}/withdraw", response_model=ObjectionPublic, summary="Withdraw")
def withdraw_objection(session: SessionDep, actor: ActorDep, objection_id: RowId) -> ObjectionPublic:
    return objections.withdraw_objection(session, actor, objection_id=objection_id)
