"""The transition tables, walked exhaustively: every (state, action) pair is either a step some parties may take
(and every other party is refused) or a conflict; reasons are demanded where the table says so."""

from __future__ import annotations

from enum import StrEnum

import pytest

from sluice.errors import Conflict, Forbidden
from sluice.sharing.states import (
    APPLICATIONS,
    GRANTS,
    OBJECTIONS,
    ApplicationAction,
    ApplicationState,
    GrantAction,
    GrantState,
    ObjectionAction,
    ObjectionState,
    Party,
    Step,
    step,
)

MACHINES: list[tuple[str, dict[tuple[str, str], Step], type[StrEnum], type[StrEnum]]] = [
    ("application", APPLICATIONS, ApplicationState, ApplicationAction),
    ("grant", GRANTS, GrantState, GrantAction),
    ("objection", OBJECTIONS, ObjectionState, ObjectionAction),
]
CASES = [
    (name, table, state.value, action.value, party)
    for name, table, states, actions in MACHINES
    for state in states
    for action in actions
    for party in Party
]


@pytest.mark.parametrize(
    ("name", "table", "state", "action", "party"),
    CASES,
    ids=lambda v: getattr(v, "value", v) if not isinstance(v, dict) else "",
)
def test_each_step_is_taken_only_by_its_parties(
    name: str, table: dict[tuple[str, str], Step], state: str, action: str, party: Party
) -> None:
    found = table.get((state, action))
    if found is None:
        with pytest.raises(Conflict, match=f"the {name} is {state}"):
            step(table, name, state, action, {party})
    elif party in found.parties:
        assert step(table, name, state, action, {party}) == found
    else:
        with pytest.raises(Forbidden, match="only the"):
            step(table, name, state, action, {party})


@pytest.mark.parametrize(("name", "table", "states", "actions"), MACHINES, ids=[m[0] for m in MACHINES])
def test_the_tables_name_only_known_states_and_every_state_is_reachable_or_initial(
    name: str, table: dict[tuple[str, str], Step], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    known = {s.value for s in states}
    assert {s for s, _ in table} <= known
    assert {a for _, a in table} <= {a.value for a in actions}
    assert {found.to for found in table.values()} <= known
    reached = {found.to for found in table.values()}
    initial = {"pending", "active", "offered", "open"}
    assert known <= reached | initial, f"unreachable {name} states: {known - reached - initial}"


def test_refusing_revoking_suspending_and_rejecting_need_a_reason() -> None:
    needs = sorted(
        {(a) for table in (APPLICATIONS, GRANTS, OBJECTIONS) for (_, a), s in table.items() if s.needs_reason}
    )
    assert needs == ["refuse", "reject", "request_changes", "revoke", "suspend"]


def test_final_states_allow_nothing() -> None:
    for table, finals in (
        (APPLICATIONS, ("approved", "refused", "withdrawn")),
        (GRANTS, ("revoked", "declined")),
        (OBJECTIONS, ("corrected", "rejected", "withdrawn")),
    ):
        for final in finals:
            assert [a for s, a in table if s == final] == []


def test_the_manager_answers_in_the_providers_place_only_once_escalated() -> None:
    for action in ("approve", "endorse", "refuse", "request_changes"):
        assert Party.MANAGER not in APPLICATIONS[("pending", action)].parties
        assert Party.MANAGER in APPLICATIONS[("escalated", action)].parties
    assert APPLICATIONS[("awaiting_countersign", "countersign")].parties == {Party.MANAGER}
    assert APPLICATIONS[("pending", "escalate")].parties == {Party.PLATFORM}
