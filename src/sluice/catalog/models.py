"""Tables of the catalog domain.

A resource's description lives in revisions (full JSON snapshots: history is kept). The ``resources`` row
carries what search, facets and lists need of the revision that is *visible* (the published one; for a
resource never published, its working revision), so that reading the catalog never parses JSON.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sluice.db.base import Base, UTCDateTime
from sluice.identity.models import Organisation


class DataElement(Base):
    """A data standard (数据元) fields can conform to: a built-in validator, a pattern or a code list."""

    __tablename__ = "data_elements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    standard: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))  # builtin | pattern | code_list
    validator: Mapped[str | None] = mapped_column(String(64))
    pattern: Mapped[str | None] = mapped_column(String(500))
    codes: Mapped[str | None] = mapped_column(Text)  # JSON list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (Index("ix_resources_visible_published", "visible", "published_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_revision: Mapped[int | None] = mapped_column(Integer)
    latest_revision: Mapped[int] = mapped_column(Integer)
    visible: Mapped[bool] = mapped_column(default=False)  # published: seen outside the provider
    use_count: Mapped[int] = mapped_column(Integer, default=0)  # governed deliveries (API calls and downloads)
    download_count: Mapped[int] = mapped_column(Integer, default=0)  # of which downloads
    view_count: Mapped[int] = mapped_column(Integer, default=0)  # dataset page views outside its department
    # The catalog card of the visible revision (denormalised for search, facets and lists).
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16), index=True)
    sharing_type: Mapped[str] = mapped_column(String(16), index=True)
    open_type: Mapped[str] = mapped_column(String(16), index=True)
    grade: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    tags: Mapped[list[ResourceTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    formats: Mapped[list[ResourceFormat]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class ResourceRevision(Base):
    __tablename__ = "resource_revisions"
    __table_args__ = (UniqueConstraint("resource_id", "number", name="uq_resource_revisions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)  # ResourceDescription as JSON
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str | None] = mapped_column(Text)


class ResourceTag(Base):
    __tablename__ = "resource_tags"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ResourceFormat(Base):
    __tablename__ = "resource_formats"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class ResourceField(Base):
    """The visible revision's fields, for questions across resources (which use this data element?)."""

    __tablename__ = "resource_fields"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63))
    data_element: Mapped[str | None] = mapped_column(String(64), index=True)


class ResourceSearch(Base):
    """The visible revision's words, segmented (jieba for Chinese) and lower-cased, one column per weight.

    Each backend indexes these its own way (SQLite: an FTS5 table kept in step by triggers; PostgreSQL: a
    generated, weighted tsvector with a GIN index) — see ``catalog/search.py`` and migration 0003.
    """

    __tablename__ = "resource_search"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # abstracts, field titles, organisation names
