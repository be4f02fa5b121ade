"""The lists of applications, grants and objections: which box a caller asks for (its organisation's side, or
the manager's and the auditor's oversight lists), and which states; one rule for the three lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, true

from sluice.errors import Forbidden, Invalid
from sluice.identity.actor import Actor
from sluice.sharing.permissions import oversees


def box_condition(
    actor: Actor,
    box: str,
    *,
    own: Mapping[str, Any],
    overseen: Mapping[str, ColumnElement[bool] | None],
    what: str,
) -> ColumnElement[bool]:
    """``own``: box → the organisation column the caller's organisation must be in; ``overseen``: box → an extra
    condition (None: none) for lists only the manager and the auditor may ask for."""
    if box in own:
        return own[box] == (actor.org_id if actor.org_id is not None else -1)  # type: ignore[no-any-return]
    if box in overseen:
        if not oversees(actor):
            raise Forbidden(f"the {box!r} list of {what} is the manager's and the auditor's")
        return overseen[box] if overseen[box] is not None else true()  # type: ignore[return-value]
    raise Invalid(f"box is one of {', '.join([*own, *overseen])}", field="box", value=box)


def check_statuses(status: Iterable[str] | None, known: Iterable[str]) -> list[str]:
    """The states asked for, each known (a typo is refused, not an empty list)."""
    wanted, names = list(status or []), sorted(set(known))
    wrong = sorted(set(wanted) - set(names))
    if wrong:
        raise Invalid(f"unknown status {', '.join(wrong)}; one of {', '.join(names)}", field="status")
    return wanted
