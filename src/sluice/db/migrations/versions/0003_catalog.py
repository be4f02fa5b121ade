"""The catalog: data elements (with the built-in standards), resources, revisions, search index.

Search: SQLite gets an FTS5 table mirroring ``resource_search`` (kept in step by triggers); PostgreSQL a
generated, weighted tsvector column with a GIN index. Both index tokens segmented by Sluice itself.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sluice.db.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SHIPPED = datetime(2026, 11, 28, tzinfo=UTC)
BUILTIN_ELEMENTS = [
    (
        "resident_id",
        "公民身份号码",
        "Resident identity number",
        "GB 11643-1999",
        "gb11643_resident_id",
        "18 characters: region, birth date, sequence, check character (ISO 7064 MOD 11-2); province and birth date checked.",
    ),
    (
        "credit_code",
        "统一社会信用代码",
        "Unified social credit code",
        "GB 32100-2015",
        "gb32100_credit_code",
        "18 characters from 0-9 and A-Z without I, O, Z, S, V; check character modulo 31.",
    ),
    (
        "division_code",
        "行政区划代码",
        "Administrative division code",
        "GB/T 2260",
        "gbt2260_division_code",
        "6 digits from the published list of divisions in force.",
    ),
    (
        "sex_code",
        "性别代码",
        "Sex",
        "GB/T 2261.1-2003",
        "gbt2261_sex_code",
        "0 unknown, 1 male, 2 female, 9 not stated.",
    ),
    ("mobile_number", "手机号码", "Mobile phone number", "", "mobile_number", "11 digits: 1, then 3-9, then 9 digits."),
    (
        "bank_card",
        "银行卡号",
        "Bank card number",
        "ISO/IEC 7812",
        "luhn_bank_card",
        "13 to 19 digits passing the Luhn check.",
    ),
    ("date", "日期", "Date", "GB/T 7408", "gbt7408_date", "YYYY-MM-DD, a real calendar date."),
]

FTS_SQLITE = [
    "CREATE VIRTUAL TABLE resource_fts USING fts5(title, tags, body, content='resource_search', "
    "content_rowid='resource_id')",
    "CREATE TRIGGER resource_search_ai AFTER INSERT ON resource_search BEGIN "
    "INSERT INTO resource_fts(rowid, title, tags, body) VALUES (new.resource_id, new.title, new.tags, new.body); END",
    "CREATE TRIGGER resource_search_ad AFTER DELETE ON resource_search BEGIN "
    "INSERT INTO resource_fts(resource_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.resource_id, old.title, old.tags, old.body); END",
    "CREATE TRIGGER resource_search_au AFTER UPDATE ON resource_search BEGIN "
    "INSERT INTO resource_fts(resource_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.resource_id, old.title, old.tags, old.body); "
    "INSERT INTO resource_fts(rowid, title, tags, body) VALUES (new.resource_id, new.title, new.tags, new.body); END",
]
TSVECTOR_POSTGRES = [
    "ALTER TABLE resource_search ADD COLUMN document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', tags), 'B') || "
    "setweight(to_tsvector('simple', body), 'C')) STORED",
    "CREATE INDEX ix_resource_search_document ON resource_search USING GIN (document)",
]


def upgrade() -> None:
    elements = op.create_table(
        "data_elements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("standard", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("validator", sa.String(64), nullable=True),
        sa.Column("pattern", sa.String(500), nullable=True),
        sa.Column("codes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_elements")),
        sa.UniqueConstraint("code", name=op.f("uq_data_elements_code")),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_revision", sa.Integer(), nullable=True),
        sa.Column("latest_revision", sa.Integer(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("sharing_type", sa.String(16), nullable=False),
        sa.Column("open_type", sa.String(16), nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_resources_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
        sa.UniqueConstraint("code", name=op.f("uq_resources_code")),
    )
    for column in ("category", "grade", "open_type", "org_id", "sharing_type"):
        op.create_index(op.f(f"ix_resources_{column}"), "resources", [column])
    op.create_index("ix_resources_visible_published", "resources", ["visible", "published_at"])
    op.create_table(
        "resource_fields",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("data_element", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_resource_fields_resource_id_resources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("resource_id", "position", name=op.f("pk_resource_fields")),
    )
    op.create_index(op.f("ix_resource_fields_data_element"), "resource_fields", ["data_element"])
    op.create_table(
        "resource_formats",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_resource_formats_resource_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "format", name=op.f("pk_resource_formats")),
    )
    op.create_index(op.f("ix_resource_formats_format"), "resource_formats", ["format"])
    op.create_table(
        "resource_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_resource_revisions_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_revisions")),
        sa.UniqueConstraint("resource_id", "number", name="uq_resource_revisions_number"),
    )
    op.create_index(op.f("ix_resource_revisions_resource_id"), "resource_revisions", ["resource_id"])
    op.create_table(
        "resource_search",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_resource_search_resource_id_resources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_resource_search")),
    )
    op.create_table(
        "resource_tags",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_resource_tags_resource_id_resources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("resource_id", "tag", name=op.f("pk_resource_tags")),
    )
    op.create_index(op.f("ix_resource_tags_tag"), "resource_tags", ["tag"])
    for statement in FTS_SQLITE if op.get_bind().dialect.name == "sqlite" else TSVECTOR_POSTGRES:
        op.execute(statement)
    op.bulk_insert(
        elements,
        [
            {
                "code": code,
                "name_zh": zh,
                "name_en": en,
                "standard": standard,
                "description": description,
                "kind": "builtin",
                "validator": validator,
                "pattern": None,
                "codes": None,
                "created_at": SHIPPED,
                "created_by": "system",
            }
            for code, zh, en, standard, validator, description in BUILTIN_ELEMENTS
        ],
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE resource_fts")
    for table in (
        "resource_tags",
        "resource_search",
        "resource_revisions",
        "resource_formats",
        "resource_fields",
        "resources",
        "data_elements",
    ):
        op.drop_table(table)
