"""Separation of management, operation and review, enforced by the database.

Adds a partial unique index so that no account can hold two of manager / operator / auditor, whatever
writes the rows. Existing data that already breaks the rule stops the migration with the accounts named,
before anything is changed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PREDICATE = "role IN ('auditor', 'manager', 'operator')"
OFFENDERS = """
SELECT u.username, r.role FROM user_roles r JOIN users u ON u.id = r.user_id
WHERE r.role IN ('auditor', 'manager', 'operator') AND r.user_id IN (
  SELECT user_id FROM user_roles WHERE role IN ('auditor', 'manager', 'operator')
  GROUP BY user_id HAVING COUNT(*) > 1
) ORDER BY u.username, r.role
"""


class SeparationOfDutiesViolation(RuntimeError):
    """Existing accounts hold two platform roles; the migration refuses to go on."""


def upgrade() -> None:
    offenders = op.get_bind().execute(sa.text(OFFENDERS)).all()
    if offenders:
        held: dict[str, list[str]] = {}
        for username, role in offenders:
            held.setdefault(username, []).append(role)
        listing = "; ".join(f"{name} holds {' and '.join(roles)}" for name, roles in held.items())
        raise SeparationOfDutiesViolation(
            "cannot enforce the separation of management, operation and review: "
            f"{listing}. An account may hold only one of manager, operator and auditor. "
            "Remove the extra roles (`sluice users set-roles NAME ROLE`) from the previous Sluice version, "
            "or create separate accounts, then run `sluice migrate` again. Nothing was changed."
        )
    op.create_index(
        "uq_user_roles_one_platform_role",
        "user_roles",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text(PREDICATE),
        postgresql_where=sa.text(PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("uq_user_roles_one_platform_role", table_name="user_roles")
