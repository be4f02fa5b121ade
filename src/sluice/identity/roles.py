"""Roles and organisation kinds, and the rules that tie them together (pure functions, no database)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sluice.errors import Invalid


class OrgKind(StrEnum):
    DEPARTMENT = "department"  # a government department (provider and/or consumer of shared data)
    ENTERPRISE = "enterprise"  # a firm: buys or sells on the market
    PLATFORM = "platform"  # the organisation that runs Sluice; holds the three platform roles


class Role(StrEnum):
    MANAGER = "manager"  # the data authority: reviews the catalog, countersigns important grants
    OPERATOR = "operator"  # runs the platform: accounts, jobs, engines; reads no restricted data
    AUDITOR = "auditor"  # verifies the log and reviews flows; changes nothing
    ORG_ADMIN = "org_admin"  # manages its organisation's accounts
    PROVIDER = "provider"  # publishes its organisation's resources and answers requests for them
    CONSUMER = "consumer"  # finds and uses data under grants


PLATFORM_ROLES = frozenset({Role.MANAGER, Role.OPERATOR, Role.AUDITOR})
ORG_ROLES = frozenset({Role.ORG_ADMIN, Role.PROVIDER, Role.CONSUMER})

SEPARATION_OF_DUTIES = "separation_of_duties"


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as given by a user, checked; an unknown name is refused with the list of known ones."""
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise Invalid(f"unknown role {name!r}; roles are: {known}", field="roles", value=name) from None
    return frozenset(roles)


def check_role_set(roles: frozenset[Role], org_kind: OrgKind, username: str) -> None:
    """Refuse a set of roles that breaks the separation of management, operation and review.

    An account holds at most one platform role; platform roles belong to accounts of the platform
    organisation, organisation roles to accounts of departments and enterprises.
    """
    platform_roles = sorted(r.value for r in roles & PLATFORM_ROLES)
    if len(platform_roles) > 1:
        raise Invalid(
            f"account {username!r} would hold {' and '.join(platform_roles)}: an account may hold only one of "
            "manager, operator and auditor (separation of management, operation and review). "
            "Create a separate account for each role.",
            field="roles",
            rule=SEPARATION_OF_DUTIES,
            roles=platform_roles,
        )
    if platform_roles and org_kind is not OrgKind.PLATFORM:
        raise Invalid(
            f"role {platform_roles[0]} is a platform role and can only be held by an account of the "
            f"platform organisation; {username!r} belongs to a {org_kind.value}",
            field="roles",
            rule="platform_role_outside_platform",
        )
    org_roles = sorted(r.value for r in roles & ORG_ROLES)
    if org_roles and org_kind is OrgKind.PLATFORM:
        raise Invalid(
            f"role {org_roles[0]} belongs to departments and enterprises, not to the platform organisation",
            field="roles",
            rule="org_role_inside_platform",
        )
