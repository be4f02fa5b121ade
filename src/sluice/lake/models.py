"""Tables of the lake: one row per version of a resource's data (the files live in the lake folder)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class Version(Base):
    """An immutable snapshot of a resource's data: once published, its files and figures never change."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("resource_id", "number", name="uq_versions_number"),
        Index("ix_versions_resource_status", "resource_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    on_error: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(300))
    base_version: Mapped[int | None] = mapped_column(Integer)  # what append/upsert built on
    path: Mapped[str | None] = mapped_column(String(500))  # folder under the lake, once written
    rows: Mapped[int | None] = mapped_column(BigInteger)
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    digest: Mapped[str | None] = mapped_column(String(64))
    schema_json: Mapped[str | None] = mapped_column(Text)
    report_json: Mapped[str | None] = mapped_column(Text)
    profile_json: Mapped[str | None] = mapped_column(Text)
    pii_json: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
