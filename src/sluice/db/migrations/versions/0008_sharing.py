"""Sharing: applications, their history, grants as signed contracts, objections.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("assigner_org_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("standing", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("legal_basis", sa.String(1000), nullable=False, server_default=""))
        batch.add_column(sa.Column("obligations_json", sa.Text(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("terms_digest", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("status_party", sa.String(16), nullable=True))
        batch.add_column(sa.Column("status_at", UTCDateTime(), nullable=True))
    # Grants recorded before the workflow were given by the resource's own organisation.
    op.execute(
        "UPDATE grants SET assigner_org_id = (SELECT org_id FROM resources WHERE resources.id = grants.resource_id)"
    )
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("assigner_org_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("standing", server_default=None)
        batch.alter_column("legal_basis", server_default=None)
        batch.alter_column("obligations_json", server_default=None)
        batch.alter_column("terms_digest", server_default=None)
        batch.create_foreign_key(
            op.f("fk_grants_assigner_org_id_organisations"), "organisations", ["assigner_org_id"], ["id"]
        )

    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("applicant_org_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("applicant", sa.String(64), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("unmasked_json", sa.Text(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("legal_basis", sa.String(1000), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("delivery_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_exact", sa.Boolean(), nullable=False),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("terms_json", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("countersigned_by", sa.String(64), nullable=True),
        sa.Column("countersigned_at", UTCDateTime(), nullable=True),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_applications_resource_id_resources")),
        sa.ForeignKeyConstraint(
            ["applicant_org_id"], ["organisations.id"], name=op.f("fk_applications_applicant_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_applications_provider_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_applications_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_batch"), "applications", ["batch"])
    op.create_index("ix_applications_provider_status", "applications", ["provider_org_id", "status"])
    op.create_index("ix_applications_applicant_status", "applications", ["applicant_org_id", "status"])

    op.create_table(
        "sharing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_events")),
    )
    op.create_index("ix_sharing_events_subject", "sharing_events", ["subject", "subject_id"])

    op.create_table(
        "grant_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("organisation", sa.String(32), nullable=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("terms_digest", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("audit_event", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_signatures_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_signatures")),
    )
    op.create_index(op.f("ix_grant_signatures_grant_id"), "grant_signatures", ["grant_id"])

    op.create_table(
        "objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("objector_org_id", sa.Integer(), nullable=False),
        sa.Column("raised_by", sa.String(64), nullable=False),
        sa.Column("record_key_json", sa.Text(), nullable=False),
        sa.Column("field", sa.String(63), nullable=False),
        sa.Column("claimed_value", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("version_seen", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_exact", sa.Boolean(), nullable=False),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fixed_in_version", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], name=op.f("fk_objections_resource_id_resources")),
        sa.ForeignKeyConstraint(
            ["provider_org_id"], ["organisations.id"], name=op.f("fk_objections_provider_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["objector_org_id"], ["organisations.id"], name=op.f("fk_objections_objector_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    op.create_index(op.f("ix_objections_objector_org_id"), "objections", ["objector_org_id"])
    op.create_index("ix_objections_resource_status", "objections", ["resource_id", "status"])
    op.create_index("ix_objections_provider_status", "objections", ["provider_org_id", "status"])


def downgrade() -> None:
    op.drop_table("objections")
    op.drop_table("grant_signatures")
    op.drop_table("sharing_events")
    op.drop_table("applications")
    with op.batch_alter_table("grants") as batch:
        batch.drop_constraint(op.f("fk_grants_assigner_org_id_organisations"), type_="foreignkey")
        for column in (
            "status_at",
            "status_party",
            "status_reason",
            "terms_digest",
            "obligations_json",
            "legal_basis",
            "standing",
            "application_id",
            "assigner_org_id",
        ):
            batch.drop_column(column)
