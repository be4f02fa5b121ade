"""The lake's versions, linked sources, and notices (what needs an organisation's or a role's attention).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("on_error", sa.String(16), nullable=False),
        sa.Column("source_name", sa.String(300), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(500), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("byte_size", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("schema_json", sa.Text(), nullable=True),
        sa.Column("report_json", sa.Text(), nullable=True),
        sa.Column("profile_json", sa.Text(), nullable=True),
        sa.Column("pii_json", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("superseded_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_versions_resource_id_resources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("resource_id", "number", name="uq_versions_number"),
    )
    op.create_index("ix_versions_resource_status", "versions", ["resource_id", "status"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("read_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_notices_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_org_id"), "notices", ["org_id"])
    op.create_index(op.f("ix_notices_role"), "notices", ["role"])
    op.create_table(
        "linked_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("dialect", sa.String(32), nullable=False),
        sa.Column("url_sealed", sa.Text(), nullable=False),
        sa.Column("url_shown", sa.String(500), nullable=False),
        sa.Column("schema_name", sa.String(128), nullable=True),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("columns_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_linked_sources_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_sources")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_linked_sources_resource_id")),
    )


def downgrade() -> None:
    op.drop_table("linked_sources")
    op.drop_table("notices")
    op.drop_table("versions")
