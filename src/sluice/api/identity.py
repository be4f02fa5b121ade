"""REST routes of the identity domain: /me, organisations, users, tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from sluice.api.deps import ActorDep, Cursor, Limit, ReadSessionDep, RowId, SessionDep
from sluice.identity import service
from sluice.identity.roles import OrgKind
from sluice.identity.schemas import (
    Me,
    NewToken,
    OrganisationCreate,
    OrganisationPublic,
    TokenCreate,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserRolesUpdate,
)
from sluice.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.get("/me", response_model=Me, summary="The calling account, its organisation and roles")
def read_me(session: ReadSessionDep, actor: ActorDep) -> Me:
    return service.whoami(session, actor)


@router.get("/organisations", response_model=Page[OrganisationPublic], summary="List organisations")
def list_organisations(
    session: ReadSessionDep,
    actor: ActorDep,
    kind: OrgKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[OrganisationPublic]:
    return service.list_organisations(session, actor, kind=kind, cursor=cursor, limit=limit)


@router.post(
    "/organisations",
    response_model=OrganisationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Register an organisation (operator)",
)
def create_organisation(session: SessionDep, actor: ActorDep, body: OrganisationCreate) -> OrganisationPublic:
    return service.create_organisation(session, actor, data=body)


@router.get("/organisations/{code}", response_model=OrganisationPublic, summary="Show one organisation")
def read_organisation(session: ReadSessionDep, actor: ActorDep, code: str) -> OrganisationPublic:
    return service.get_organisation(session, actor, code=code)


@router.get("/users", response_model=Page[UserPublic], summary="List accounts")
def list_users(
    session: ReadSessionDep,
    actor: ActorDep,
    org_code: Annotated[str | None, Query(alias="organisation")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[UserPublic]:
    return service.list_users(session, actor, org_code=org_code, cursor=cursor, limit=limit)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED, summary="Create an account")
def create_user(session: SessionDep, actor: ActorDep, body: UserCreate) -> UserPublic:
    return service.create_user(session, actor, data=body)


@router.get("/users/{username}", response_model=UserPublic, summary="Show one account")
def read_user(session: ReadSessionDep, actor: ActorDep, username: str) -> UserPublic:
    return service.get_user(session, actor, username=username)


@router.put("/users/{username}/roles", response_model=UserPublic, summary="Replace an account's roles")
def update_user_roles(session: SessionDep, actor: ActorDep, username: str, body: UserRolesUpdate) -> UserPublic:
    return service.set_roles(session, actor, username=username, roles=frozenset(body.roles))


@router.post("/users/{username}/disable", response_model=UserPublic, summary="Disable an account")
def disable_user(session: SessionDep, actor: ActorDep, username: str) -> UserPublic:
    return service.disable_user(session, actor, username=username)


@router.post("/users/{username}/enable", response_model=UserPublic, summary="Enable a disabled account")
def enable_user(session: SessionDep, actor: ActorDep, username: str) -> UserPublic:
    return service.enable_user(session, actor, username=username)


@router.get("/tokens", response_model=list[TokenPublic], summary="List my API tokens")
def list_my_tokens(session: ReadSessionDep, actor: ActorDep) -> list[TokenPublic]:
    return service.list_tokens(session, actor, username=actor.username)


@router.post(
    "/tokens",
    response_model=NewToken,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token for myself (the secret is shown once)",
)
def create_my_token(session: SessionDep, actor: ActorDep, body: TokenCreate) -> NewToken:
    return service.create_token(session, actor, username=actor.username, name=body.name, expires_at=body.expires_at)


@router.delete("/tokens/{token_id}", response_model=TokenPublic, summary="Revoke a token")
def revoke_token(session: SessionDep, actor: ActorDep, token_id: RowId) -> TokenPublic:
    return service.revoke_token(session, actor, token_id=token_id)
