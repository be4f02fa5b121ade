"""Serving engines: resources the operator assigns to an engine other than the lake's DuckDB (Spark).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_engines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_serving_engines_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serving_engines")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_serving_engines_resource_id")),
    )


def downgrade() -> None:
    op.drop_table("serving_engines")
