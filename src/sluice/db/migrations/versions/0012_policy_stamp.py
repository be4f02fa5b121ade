"""The policy stamp: one value the database changes, by trigger, whenever anything a gateway decision reads
changes — so a process may keep its decisions while the stamp it read them under is still the stamp.

Every insert, delete and update of the tables below sets a new random stamp, in the same transaction as the
change (the delivery counters excepted: they change at every call and decide nothing). Random, not counted:
a database restored from a backup must not come back to a stamp a running process has seen with other contents.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Each table a decision reads, with every column but the counters (frozen here: a later migration that adds a
# column to one of these tables must recreate its trigger; tests/gateway/test_decisions.py fails until it does).
WATCHED = {
    "grants": (
        "id", "resource_id", "assigner_org_id", "assignee_org_id", "fields_json", "masks_json", "row_filter",
        "purpose", "valid_from", "valid_until", "quota", "delivery_json", "status", "application_id", "standing",
        "legal_basis", "obligations_json", "terms_digest", "status_reason", "status_party", "status_at", "key_hex",
        "created_by", "created_at",
    ),  # not calls_used
    "linked_sources": (
        "id", "resource_id", "dialect", "url_sealed", "url_shown", "schema_name", "table_name", "columns_json",
        "created_by", "created_at", "updated_at",
    ),
    "organisations": ("id", "code", "name_zh", "name_en", "kind", "created_at"),
    "resource_revisions": (
        "id", "resource_id", "number", "status", "description", "created_by", "created_at", "submitted_at",
        "reviewed_by", "reviewed_at", "review_comment",
    ),
    "resources": (
        "id", "code", "org_id", "created_at", "updated_at", "published_at", "published_revision", "latest_revision",
        "visible", "title_zh", "title_en", "category", "sharing_type", "open_type", "grade", "status",
    ),  # not use_count, download_count, view_count
    "serving_engines": ("id", "resource_id", "engine", "assigned_by", "assigned_at"),
    "versions": (
        "id", "resource_id", "number", "status", "mode", "on_error", "source_name", "base_version", "path", "rows",
        "byte_size", "digest", "schema_json", "report_json", "profile_json", "pii_json", "error", "created_by",
        "created_at", "finished_at", "published_at", "superseded_at",
    ),
}  # fmt: skip

PG_NEW_STAMP = "floor(random() * 9007199254740991)::bigint"
SQLITE_NEW_STAMP = "random()"


def upgrade() -> None:
    op.create_table(
        "policy_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_stamp")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"INSERT INTO policy_stamp (id, stamp) VALUES (1, {PG_NEW_STAMP})")  # noqa: S608 - constants
        op.execute(
            "CREATE OR REPLACE FUNCTION sluice_new_policy_stamp() RETURNS trigger LANGUAGE plpgsql "  # noqa: S608
            "SET search_path FROM CURRENT AS $$ BEGIN "  # this schema's stamp, whatever the writer's search_path
            f"UPDATE policy_stamp SET stamp = {PG_NEW_STAMP} WHERE id = 1; RETURN NULL; END $$"
        )
        for table, columns in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER {table}_policy_stamp AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "
                f"{', '.join(columns)} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION sluice_new_policy_stamp()"
            )
            # Always: also under session_replication_role = replica (pg_restore --disable-triggers, replication).
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_policy_stamp")
    else:
        op.execute(f"INSERT INTO policy_stamp (id, stamp) VALUES (1, {SQLITE_NEW_STAMP})")  # noqa: S608 - constants
        change = f"BEGIN UPDATE policy_stamp SET stamp = {SQLITE_NEW_STAMP} WHERE id = 1; END"  # noqa: S608
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_policy_stamp_insert AFTER INSERT ON {table} {change}")
            op.execute(f"CREATE TRIGGER {table}_policy_stamp_delete AFTER DELETE ON {table} {change}")
            op.execute(
                f"CREATE TRIGGER {table}_policy_stamp_update AFTER UPDATE OF {', '.join(columns)} ON {table} {change}"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_policy_stamp ON {table}")
        op.execute("DROP FUNCTION IF EXISTS sluice_new_policy_stamp()")
    else:
        for table in WATCHED:
            for verb in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_policy_stamp_{verb}")
    op.drop_table("policy_stamp")
