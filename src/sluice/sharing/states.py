"""The state machines of the sharing workflow, as data: for each (state, action), the state it leads to and
the parties who may take it. Use cases look a step up here before doing anything; tests walk every entry.

A party is what an account *is* to the thing it acts on (the applicant's consumer, the resource's provider,
the manager, the platform's own deadline sweep) — not merely which roles it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sluice.errors import Conflict, Forbidden


class Party(StrEnum):
    APPLICANT = "applicant"  # a consumer of the organisation that applied / holds the grant / objected
    PROVIDER = "provider"  # a provider of the resource's organisation (the assigner of its grants)
    MANAGER = "manager"  # the data authority
    PLATFORM = "platform"  # the platform itself: deadline sweeps, standing grants (the local system)


class ApplicationState(StrEnum):
    PENDING = "pending"  # waiting for the provider, within its deadline
    ESCALATED = "escalated"  # past its deadline: the manager may answer in the provider's place
    CHANGES_REQUESTED = "changes_requested"  # back with the applicant
    AWAITING_COUNTERSIGN = "awaiting_countersign"  # important data: the provider approved, the manager must sign
    APPROVED = "approved"  # a grant was issued
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ApplicationAction(StrEnum):
    APPROVE = "approve"  # approve (possibly narrowed): a grant is issued
    ENDORSE = "endorse"  # the provider's approval of important data, for the manager to countersign
    REQUEST_CHANGES = "request_changes"
    REFUSE = "refuse"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    ESCALATE = "escalate"
    COUNTERSIGN = "countersign"


class GrantState(StrEnum):
    OFFERED = "offered"  # approved with narrowed terms: the assignee must accept them first
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    DECLINED = "declined"  # the assignee did not accept the narrowed terms


class GrantAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    SUSPEND = "suspend"
    RESUME = "resume"
    REVOKE = "revoke"


class ObjectionState(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"  # past its deadline: the manager is told, the provider must still answer
    ACCEPTED = "accepted"  # the provider agrees; a corrected version is due
    CORRECTED = "corrected"  # fixed in a new version, linked to the objection
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ObjectionAction(StrEnum):
    ACCEPT = "accept"
    CORRECT = "correct"
    REJECT = "reject"
    ESCALATE = "escalate"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Step:
    to: str
    parties: frozenset[Party]
    needs_reason: bool = False


def _step(to: StrEnum, *parties: Party, reason: bool = False) -> Step:
    return Step(to.value, frozenset(parties), reason)


A, G, OS = ApplicationState, GrantState, ObjectionState
AA, GA, OA = ApplicationAction, GrantAction, ObjectionAction
P = Party

APPLICATIONS: dict[tuple[str, str], Step] = {
    (A.PENDING, AA.APPROVE): _step(A.APPROVED, P.PROVIDER),
    (A.PENDING, AA.ENDORSE): _step(A.AWAITING_COUNTERSIGN, P.PROVIDER),
    (A.PENDING, AA.REQUEST_CHANGES): _step(A.CHANGES_REQUESTED, P.PROVIDER, reason=True),
    (A.PENDING, AA.REFUSE): _step(A.REFUSED, P.PROVIDER, reason=True),
    (A.PENDING, AA.WITHDRAW): _step(A.WITHDRAWN, P.APPLICANT),
    (A.PENDING, AA.ESCALATE): _step(A.ESCALATED, P.PLATFORM),
    (A.ESCALATED, AA.APPROVE): _step(A.APPROVED, P.PROVIDER, P.MANAGER),
    (A.ESCALATED, AA.ENDORSE): _step(A.AWAITING_COUNTERSIGN, P.PROVIDER, P.MANAGER),
    (A.ESCALATED, AA.REQUEST_CHANGES): _step(A.CHANGES_REQUESTED, P.PROVIDER, P.MANAGER, reason=True),
    (A.ESCALATED, AA.REFUSE): _step(A.REFUSED, P.PROVIDER, P.MANAGER, reason=True),
    (A.ESCALATED, AA.WITHDRAW): _step(A.WITHDRAWN, P.APPLICANT),
    (A.CHANGES_REQUESTED, AA.RESUBMIT): _step(A.PENDING, P.APPLICANT),
    (A.CHANGES_REQUESTED, AA.WITHDRAW): _step(A.WITHDRAWN, P.APPLICANT),
    (A.AWAITING_COUNTERSIGN, AA.COUNTERSIGN): _step(A.APPROVED, P.MANAGER),
    (A.AWAITING_COUNTERSIGN, AA.REFUSE): _step(A.REFUSED, P.MANAGER, reason=True),
    (A.AWAITING_COUNTERSIGN, AA.WITHDRAW): _step(A.WITHDRAWN, P.APPLICANT),
}

GRANTS: dict[tuple[str, str], Step] = {
    (G.OFFERED, GA.ACCEPT): _step(G.ACTIVE, P.APPLICANT),
    (G.OFFERED, GA.DECLINE): _step(G.DECLINED, P.APPLICANT),
    (G.OFFERED, GA.REVOKE): _step(G.REVOKED, P.PROVIDER, P.MANAGER, reason=True),
    (G.ACTIVE, GA.SUSPEND): _step(G.SUSPENDED, P.PROVIDER, P.MANAGER, reason=True),
    (G.ACTIVE, GA.REVOKE): _step(G.REVOKED, P.PROVIDER, P.MANAGER, reason=True),
    (G.SUSPENDED, GA.RESUME): _step(G.ACTIVE, P.PROVIDER, P.MANAGER),
    (G.SUSPENDED, GA.REVOKE): _step(G.REVOKED, P.PROVIDER, P.MANAGER, reason=True),
}

OBJECTIONS: dict[tuple[str, str], Step] = {
    (OS.OPEN, OA.ACCEPT): _step(OS.ACCEPTED, P.PROVIDER),
    (OS.OPEN, OA.REJECT): _step(OS.REJECTED, P.PROVIDER, reason=True),
    (OS.OPEN, OA.ESCALATE): _step(OS.ESCALATED, P.PLATFORM),
    (OS.OPEN, OA.WITHDRAW): _step(OS.WITHDRAWN, P.APPLICANT),
    (OS.ESCALATED, OA.ACCEPT): _step(OS.ACCEPTED, P.PROVIDER),
    (OS.ESCALATED, OA.REJECT): _step(OS.REJECTED, P.PROVIDER, reason=True),
    (OS.ESCALATED, OA.WITHDRAW): _step(OS.WITHDRAWN, P.APPLICANT),
    (OS.ACCEPTED, OA.CORRECT): _step(OS.CORRECTED, P.PROVIDER),
}

TABLES: dict[str, dict[tuple[str, str], Step]] = {
    "application": APPLICATIONS,
    "grant": GRANTS,
    "objection": OBJECTIONS,
}


def step(table: dict[tuple[str, str], Step], subject: str, state: str, action: str, parties: Iterable[Party]) -> Step:
    """The step ``action`` takes from ``state`` if one of ``parties`` may take it; else a clear refusal: Conflict
    when the state does not allow the action at all, Forbidden when it does but not for this caller."""
    found = table.get((state, action))
    if found is None:
        allowed = sorted(a for (s, a) in table if s == state)
        then = f"; from {state} one can: {', '.join(allowed)}" if allowed else f"; {state} is final"
        raise Conflict(f"the {subject} is {state}: it cannot be {_past(action)}{then}", status=state, action=action)
    held = set(parties)
    if not held & found.parties:
        who = " or ".join(sorted(p.value for p in found.parties))
        raise Forbidden(
            f"only the {who} may {action.replace('_', ' ')} a {subject} that is {state}",
            status=state,
            action=action,
            allowed=sorted(p.value for p in found.parties),
        )
    return found


def _past(action: str) -> str:
    words = {
        "approve": "approved",
        "endorse": "approved for countersignature",
        "request_changes": "sent back for changes",
        "refuse": "refused",
        "resubmit": "resubmitted",
        "withdraw": "withdrawn",
        "escalate": "escalated",
        "countersign": "countersigned",
        "accept": "accepted",
        "decline": "declined",
        "suspend": "suspended",
        "resume": "resumed",
        "revoke": "revoked",
        "correct": "marked corrected",
        "reject": "rejected",
    }
    return words.get(action, action)
