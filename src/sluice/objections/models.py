"""The objection table: a claim that one record is wrong, and the provider's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class Objection(Base):
    """A consumer's claim that a record is wrong (数据异议), and the provider's answer."""

    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_resource_status", "resource_id", "status"),
        Index("ix_objections_provider_status", "provider_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    objector_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    record_key_json: Mapped[str] = mapped_column(Text)  # {key field: value}
    field: Mapped[str] = mapped_column(String(63))
    claimed_value: Mapped[str | None] = mapped_column(Text)  # what the objector believes right (None: empty)
    evidence: Mapped[str] = mapped_column(Text)
    version_seen: Mapped[int | None] = mapped_column(Integer)  # the serving version when it was raised
    status: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_exact: Mapped[bool] = mapped_column(default=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    fixed_in_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
