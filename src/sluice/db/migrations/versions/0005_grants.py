"""Grants: what an organisation may read of a resource (fields, masks, row filter, purpose, term, quota).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("assignee_org_id", sa.Integer(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("masks_json", sa.Text(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("calls_used", sa.Integer(), nullable=False),
        sa.Column("delivery_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("key_hex", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_grants_resource_id_resources")),
        sa.ForeignKeyConstraint(
            ["assignee_org_id"], ["organisations.id"], name=op.f("fk_grants_assignee_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index("ix_grants_assignee_resource", "grants", ["assignee_org_id", "resource_id"])


def downgrade() -> None:
    op.drop_table("grants")
