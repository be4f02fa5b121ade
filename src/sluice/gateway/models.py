"""Grants: what one organisation may read of one resource, under which conditions (the contract's terms).

The sharing workflow (``sluice.sharing``: applications, approvals, signatures) produces grants; the gateway
enforces them. The pseudonym key is per grant, random, and never leaves the platform.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class Grant(Base):
    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_assignee_resource", "assignee_org_id", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    assigner_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the provider
    assignee_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    fields_json: Mapped[str] = mapped_column(Text)  # granted field names, in the resource's order
    masks_json: Mapped[str] = mapped_column(Text, default="{}")  # field → {"kind": …, "width": …}
    row_filter: Mapped[str | None] = mapped_column(Text)  # SQL over the resource's fields (DuckDB dialect)
    purpose: Mapped[str] = mapped_column(String(500))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    quota: Mapped[int | None] = mapped_column(Integer)  # calls allowed in the grant's life; None: no limit
    calls_used: Mapped[int] = mapped_column(Integer, default=0)
    delivery_json: Mapped[str] = mapped_column(Text, default='["query"]')
    status: Mapped[str] = mapped_column(String(16), default="active")  # see sharing.states.GRANTS
    application_id: Mapped[int | None] = mapped_column(Integer)  # None: standing, or recorded at the shell
    standing: Mapped[bool] = mapped_column(default=False)  # issued on first use of an unconditional resource
    legal_basis: Mapped[str] = mapped_column(String(1000), default="")
    obligations_json: Mapped[str] = mapped_column(Text, default="{}")  # no onward sharing, delete after N days
    terms_digest: Mapped[str] = mapped_column(String(64), default="")  # SHA-256 of the contract's terms
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_party: Mapped[str | None] = mapped_column(String(16))  # who set the status last (assigner, manager…)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    key_hex: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ServingEngine(Base):
    """A resource the operator assigned to an engine other than the lake's DuckDB (today: Spark)."""

    __tablename__ = "serving_engines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), unique=True)
    engine: Mapped[str] = mapped_column(String(16))
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PolicyStamp(Base):
    """One row: a random value the database replaces, by trigger, whenever a table a gateway decision reads
    changes (migration 0012; ``sluice.gateway.decisions``)."""

    __tablename__ = "policy_stamp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger)
