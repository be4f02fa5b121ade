"""Permission checks of the catalog use cases: each takes exactly its use case's arguments."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sluice.catalog.schemas import (
    DataElementCreate,
    ResourceCreate,
    ResourceDescription,
    ReviewDecision,
    SearchQuery,
)
from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.identity.permissions import signed_in
from sluice.identity.roles import Role


def can_register(session: Session, actor: Actor, *, data: ResourceCreate) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if not actor.has(Role.PROVIDER):
        raise Forbidden("registering resources needs the provider role", required_role=Role.PROVIDER.value)
    prefix = data.code.split(".", 1)[0]
    if prefix != actor.org_code:
        raise Forbidden(
            f"a resource code starts with its provider's organisation code: use {actor.org_code}.<name>, not {data.code}",
            field="code",
        )


def can_edit(session: Session, actor: Actor, *, code: str, data: ResourceDescription | None = None) -> None:
    _provider_of(session, actor, code, "edit")


def can_submit(session: Session, actor: Actor, *, code: str) -> None:
    _provider_of(session, actor, code, "submit")


def can_review(session: Session, actor: Actor, *, code: str, decision: ReviewDecision) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER):
        return
    raise Forbidden("only the manager (the data authority) reviews catalog entries", required_role=Role.MANAGER.value)


def can_read_catalog(session: Session, actor: Actor, *args: object, **kwargs: object) -> None:
    """Anyone may read the catalog; what each caller sees is filtered by visibility in the use case."""


def can_search(session: Session, actor: Actor, *, query: SearchQuery) -> None:
    can_read_catalog(session, actor)


def can_read_history(session: Session, actor: Actor, *, code: str) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER) or actor.has(Role.AUDITOR) or code.split(".", 1)[0] == actor.org_code:
        return
    raise Forbidden("a resource's revisions are seen by its provider, the manager and the auditor")


def can_see_review_queue(session: Session, actor: Actor) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER):
        return
    raise Forbidden("the review queue is the manager's", required_role=Role.MANAGER.value)


def can_define_element(session: Session, actor: Actor, *, data: DataElementCreate) -> None:
    signed_in(session, actor)
    if actor.is_system or actor.has(Role.MANAGER):
        return
    raise Forbidden("data standards are set by the manager (the data authority)", required_role=Role.MANAGER.value)


def _provider_of(session: Session, actor: Actor, code: str, verb: str) -> None:
    signed_in(session, actor)
    if actor.is_system:
        return
    if actor.has(Role.PROVIDER) and code.split(".", 1)[0] == actor.org_code:
        return
    raise Forbidden(f"only a provider of {code.split('.', 1)[0]!r} may {verb} {code}", resource=code)
