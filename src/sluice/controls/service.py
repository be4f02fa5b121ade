"""Use cases of dual control: one person asks for a critical action, saying why; a second person, holding
another role, confirms it (and it is carried out at once) or refuses it. Nobody confirms their own request;
requests lapse after three days. Today: deleting a version's data, and rotating the signing key."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sluice.audit.log import record
from sluice.catalog.queries import find_resource
from sluice.controls import permissions as can
from sluice.controls.models import CriticalAction
from sluice.controls.schemas import HOURS_TO_DECIDE, RULES, ActionKind, ActionPublic, ActionRequest, Decision
from sluice.db.session import now, settings_of
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.identity.actor import Actor
from sluice.identity.permissions import in_person
from sluice.identity.roles import Role
from sluice.inbox.post import notify
from sluice.lake.models import Version
from sluice.lake.schemas import VersionStatus
from sluice.lake.storage import remove_folder
from sluice.signing import prepare_rotation
from sluice.usecase import use_case

SIGNING_KEY = "signing-key"
DELETABLE = (VersionStatus.PUBLISHED.value, VersionStatus.HELD.value, VersionStatus.REJECTED.value)


@use_case(can.can_ask)
def ask_for_action(session: Session, actor: Actor, *, data: ActionRequest) -> ActionPublic:
    """Ask for a critical action; the holders of the confirming role are told."""
    rule = RULES[data.kind]
    if not actor.roles & rule.askers:
        who = " or ".join(sorted(r.value for r in rule.askers))
        raise Forbidden(f"{data.kind.value} is asked for by the {who}", kind=data.kind.value)
    _check_target(session, actor, data.kind, data.target)
    at = now(session)
    action = CriticalAction(
        kind=data.kind.value,
        target=data.target,
        reason=data.reason.strip(),
        requested_by=actor.username,
        requested_roles=",".join(sorted(r.value for r in actor.roles)),
        requested_org_id=actor.org_id,
        status="pending",
        created_at=at,
        expires_at=at + timedelta(hours=HOURS_TO_DECIDE),
    )
    session.add(action)
    session.flush()
    record(
        session,
        actor,
        "control.ask",
        f"control:{action.id}",
        kind=data.kind.value,
        of=data.target,
        reason=action.reason,
    )
    for role in rule.confirmers:
        notify(
            session,
            kind="control.ask",
            target=f"control:{action.id}",
            message=f"{actor.username} asks to {data.kind.value} {data.target}: {action.reason}. A second person "
            "must confirm or refuse.",
            role=role,
            detail={"control": action.id},
        )
    return _public(action, now(session))


@use_case(can.can_decide)
def confirm_action(session: Session, actor: Actor, *, action_id: int, decision: Decision) -> ActionPublic:
    """The second person confirms; the action is carried out with the decision. Its change on disk (the key put
    in place, the version's files removed) is the very last step, after every row is written and flushed."""
    action = _decidable(session, actor, action_id)
    _decide(session, actor, action, "done", decision.reason)
    result, on_disk = _carry_out(session, actor, ActionKind(action.kind), action.target)
    action.result_json = json.dumps(result)
    record(
        session,
        actor,
        "control.confirm",
        f"control:{action.id}",
        kind=action.kind,
        of=action.target,
        requested_by=action.requested_by,
        result=result,
    )
    session.flush()
    on_disk()
    return _public(action, now(session))


@use_case(can.can_decide)
def refuse_action(session: Session, actor: Actor, *, action_id: int, decision: Decision) -> ActionPublic:
    if not decision.reason.strip():
        raise Invalid("to refuse, give the reason", field="reason", rule="reason_required")
    action = _decidable(session, actor, action_id)
    _decide(session, actor, action, "refused", decision.reason)
    record(session, actor, "control.refuse", f"control:{action.id}", kind=action.kind, reason=decision.reason)
    return _public(action, now(session))


@use_case(can.can_ask)
def cancel_action(session: Session, actor: Actor, *, action_id: int) -> ActionPublic:
    action = _action(session, action_id)
    if action.requested_by != actor.username:
        raise Forbidden("only the person who asked may cancel a request")
    _decide(session, actor, action, "cancelled", "")
    record(session, actor, "control.cancel", f"control:{action.id}")
    return _public(action, now(session))


@use_case(can.can_read)
def list_actions(session: Session, actor: Actor, *, status: str | None = None) -> list[ActionPublic]:
    query = select(CriticalAction).order_by(CriticalAction.id.desc()).limit(200)
    if status:
        query = query.where(CriticalAction.status == status)
    if not (actor.is_system or actor.roles & {Role.MANAGER, Role.OPERATOR, Role.AUDITOR}):
        query = query.where(CriticalAction.requested_org_id == actor.org_id)
    return [_public(a, now(session)) for a in session.scalars(query)]


# --- helpers -------------------------------------------------------------------------------------------------


def _action(session: Session, action_id: int) -> CriticalAction:
    action = session.get(CriticalAction, action_id)
    if action is None:
        raise NotFound(f"no critical action {action_id}", control=action_id)
    return action


def _decidable(session: Session, actor: Actor, action_id: int) -> CriticalAction:
    """The action, if ``actor`` may decide it: in person, a confirming role, not the asker, no role in common."""
    in_person(actor, "confirming or refusing a critical action")
    action = _action(session, action_id)
    rule = RULES[ActionKind(action.kind)]
    if action.requested_by == actor.username:
        raise Forbidden(
            "a single account can never approve its own request: a second person must decide", rule="two_person"
        )
    asked_as = set(action.requested_roles.split(","))
    if not actor.roles & rule.confirmers or asked_as & {r.value for r in actor.roles}:
        who = " or ".join(sorted(r.value for r in rule.confirmers))
        raise Forbidden(f"{action.kind} is confirmed by the {who}, in another role than the asker's", rule="two_person")
    if action.status == "pending" and now(session) >= action.expires_at:
        raise Conflict(f"request {action.id} lapsed unanswered; ask again if it is still needed")
    return action


def _decide(session: Session, actor: Actor, action: CriticalAction, status: str, reason: str) -> None:
    """Move a pending request once (a conditional UPDATE: two confirmations cannot both carry it out)."""
    moved = session.execute(
        update(CriticalAction)
        .where(CriticalAction.id == action.id, CriticalAction.status == "pending")
        .values(status=status, decided_by=actor.username, decided_at=now(session), decision_reason=reason or None)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"request {action.id} was already decided ({action.status})", control=action.id)
    session.refresh(action)


def _check_target(session: Session, actor: Actor, kind: ActionKind, target: str) -> None:
    if kind is ActionKind.KEY_ROTATE:
        if target != SIGNING_KEY:
            raise Invalid(f"the target of {kind.value} is {SIGNING_KEY!r}", field="target")
        return
    code = target.partition("@")[0]
    if actor.has(Role.PROVIDER) and not actor.has(Role.OPERATOR) and code.split(".", 1)[0] != actor.org_code:
        # Refused before looking the version up: a provider learns nothing of other organisations' versions.
        raise Forbidden(f"only a provider of {code}'s organisation may ask to delete its versions")
    _version(session, target)


def _version(session: Session, target: str) -> Version:
    code, _, number = target.partition("@")
    if not number.isdigit():
        raise Invalid("name the version as CODE@NUMBER, e.g. psb.residents@3", field="target")
    resource = find_resource(session, code)
    version = session.scalars(
        select(Version).where(Version.resource_id == resource.id, Version.number == int(number))
    ).one_or_none()
    if version is None:
        raise NotFound(f"{code} has no version {number}", target=target)
    if version.status not in DELETABLE:
        raise Conflict(f"version {number} of {code} is {version.status}: there is nothing to delete", target=target)
    return version


def _carry_out(
    session: Session, actor: Actor, kind: ActionKind, target: str
) -> tuple[dict[str, Any], Callable[[], None]]:
    """Write the action's rows; return its result and its change on disk, for the caller to make last."""
    settings = settings_of(session)
    if kind is ActionKind.KEY_ROTATE:
        rotation = prepare_rotation(settings.signing_key_path)
        record(session, actor, "key.rotate", SIGNING_KEY, retired=rotation.retired_id, current=rotation.new_id)
        return {"retired_key": rotation.retired_id, "current_key": rotation.new_id}, rotation.complete
    version = _version(session, target)
    folder = version.path
    version.status, version.path = VersionStatus.DELETED.value, None
    record(session, actor, "version.delete", f"resource:{target.split('@', maxsplit=1)[0]}", version=version.number)

    def remove() -> None:
        if folder:
            remove_folder(settings.lake_dir / folder)

    return {"version": version.number, "removed": folder}, remove


def _public(action: CriticalAction, at: datetime) -> ActionPublic:
    lapsed = action.status == "pending" and at >= action.expires_at  # shown as expired; nothing is written
    return ActionPublic(
        id=action.id,
        kind=ActionKind(action.kind),
        target=action.target,
        reason=action.reason,
        requested_by=action.requested_by,
        requested_roles=action.requested_roles.split(","),
        status="expired" if lapsed else action.status,
        created_at=action.created_at,
        expires_at=action.expires_at,
        decided_by=action.decided_by,
        decided_at=action.decided_at,
        decision_reason=action.decision_reason,
        result=json.loads(action.result_json) if action.result_json else None,
    )
