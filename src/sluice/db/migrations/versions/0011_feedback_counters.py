"""Feedback on datasets from anyone, and each dataset's page views and downloads.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("download_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("view_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("given_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_feedback_resource_id_resources")),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_feedback_provider_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_resource_id"), "feedback", ["resource_id"])
    op.create_index("ix_feedback_org_status", "feedback", ["provider_org_id", "status"])


def downgrade() -> None:
    op.drop_table("feedback")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("view_count")
        batch.drop_column("download_count")
