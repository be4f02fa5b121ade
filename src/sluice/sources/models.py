"""A resource's link to a table in its department's own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class LinkedSource(Base):
    __tablename__ = "linked_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), unique=True)
    dialect: Mapped[str] = mapped_column(String(32))
    url_sealed: Mapped[str] = mapped_column(Text)  # the SQLAlchemy URL with its password, encrypted
    url_shown: Mapped[str] = mapped_column(String(500))  # the same URL with the password hidden
    schema_name: Mapped[str | None] = mapped_column(String(128))
    table_name: Mapped[str] = mapped_column(String(128))
    columns_json: Mapped[str] = mapped_column(Text)  # source column → field (null: unused)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
