"""The separation-of-duties rules themselves (no database)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.errors import Invalid
from sluice.identity.roles import ORG_ROLES, PLATFORM_ROLES, OrgKind, Role, check_role_set, parse_roles


@pytest.mark.parametrize(("first", "second"), list(itertools.combinations(sorted(PLATFORM_ROLES), 2)))
def test_two_platform_roles_are_refused_naming_both(first: Role, second: Role) -> None:
    with pytest.raises(Invalid) as refused:
        check_role_set(frozenset({first, second}), OrgKind.PLATFORM, "alice")
    assert refused.value.detail["rule"] == "separation_of_duties"
    assert first.value in refused.value.message
    assert second.value in refused.value.message
    assert "alice" in refused.value.message


@given(st.sets(st.sampled_from(list(Role))))
def test_any_role_set_is_accepted_exactly_when_it_keeps_the_rules(roles: set[Role]) -> None:
    platform_roles = roles & PLATFORM_ROLES
    for kind in OrgKind:
        allowed = len(platform_roles) <= 1 and (
            (kind is OrgKind.PLATFORM and not roles & ORG_ROLES)
            or (kind is not OrgKind.PLATFORM and not platform_roles)
        )
        if allowed:
            check_role_set(frozenset(roles), kind, "someone")
        else:
            with pytest.raises(Invalid):
                check_role_set(frozenset(roles), kind, "someone")


def test_platform_role_outside_the_platform_is_refused() -> None:
    with pytest.raises(Invalid, match="platform role"):
        check_role_set(frozenset({Role.MANAGER}), OrgKind.DEPARTMENT, "psb-boss")


def test_unknown_role_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(Invalid) as refused:
        parse_roles(["provider", "superuser"])
    assert "superuser" in refused.value.message
    assert "consumer" in refused.value.message


def test_role_names_are_parsed() -> None:
    assert parse_roles([" manager", "manager"]) == frozenset({Role.MANAGER})
