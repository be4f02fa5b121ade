"""The feedback table: what a reader said about a dataset, and the provider's answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_org_status", "provider_org_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # error | question | suggestion
    message: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))  # shown to the provider only
    given_by: Mapped[str] = mapped_column(String(64))  # an account, or "anonymous"
    status: Mapped[str] = mapped_column(String(16))  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
