"""Tables of the sharing workflow: applications, the history of every state change, and the signatures that
make a grant a contract. (The grant itself is in ``gateway.models``: the gateway enforces it; objections,
which share the history table, are in ``objections.models``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class Application(Base):
    """One resource asked for by one organisation (several filed together share a ``batch``)."""

    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_provider_status", "provider_org_id", "status"),
        Index("ix_applications_applicant_status", "applicant_org_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    applicant_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    applicant: Mapped[str] = mapped_column(String(64))  # the account that filed it
    fields_json: Mapped[str] = mapped_column(Text)
    unmasked_json: Mapped[str] = mapped_column(Text, default="[]")  # sensitive fields asked for in clear
    row_filter: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(500))
    legal_basis: Mapped[str] = mapped_column(String(1000))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    quota: Mapped[int | None] = mapped_column(Integer)
    delivery_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    round: Mapped[int] = mapped_column(Integer, default=1)  # 1 + times resubmitted after a request for changes
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_exact: Mapped[bool] = mapped_column(default=True)  # False: counted Monday–Friday (no calendar)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terms_json: Mapped[str | None] = mapped_column(Text)  # what the provider approved (possibly narrowed)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)  # the latest answer's reason or comment
    countersigned_by: Mapped[str | None] = mapped_column(String(64))
    countersigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharingEvent(Base):
    """One step in the life of an application, a grant or an objection: who, as which party, from which state
    to which, and why. (The audit log records the same steps, tamper-evidently; this is the readable history.)"""

    __tablename__ = "sharing_events"
    __table_args__ = (Index("ix_sharing_events_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))  # application | grant | objection
    subject_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    party: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)


class GrantSignature(Base):
    """One party's acceptance of a grant's terms, signed with the platform key over the terms' digest."""

    __tablename__ = "grant_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    party: Mapped[str] = mapped_column(String(16))  # assigner | assignee | countersigner | platform
    organisation: Mapped[str | None] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    terms_digest: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519, hex
    audit_event: Mapped[int | None] = mapped_column(Integer)
