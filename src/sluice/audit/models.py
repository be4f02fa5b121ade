"""Tables of the audit domain.

An event is written, with the change it records, into ``audit_events`` and ``audit_queue`` (one transaction:
durable before the response). The sequencer then gives queued events their place in the Merkle log in
batches (group commit): ``audit_leaves`` (index → event, leaf hash) and ``audit_nodes`` (the hash of every
perfect subtree, keyed by the index it ends at and its height), and the platform signs ``audit_tree_heads``.
The database refuses UPDATE and DELETE on the log's tables (migration 0010's triggers); the queue is the only
table rows leave.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, UTCDateTime


class AuditEvent(Base):
    """One entry of the append-only log. ``entry`` is the canonical JSON whose UTF-8 bytes are the leaf."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_org: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200))
    entry: Mapped[str] = mapped_column(Text)


class AuditQueue(Base):
    """Events committed but not yet in the tree (the sequencer empties it)."""

    __tablename__ = "audit_queue"

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)


class AuditLeaf(Base):
    __tablename__ = "audit_leaves"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditNode(Base):
    """The hash of the perfect subtree of height ``height`` whose last leaf is ``end_index``."""

    __tablename__ = "audit_nodes"

    end_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    height: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditTreeHead(Base):
    """A signed statement of the log's size and root at a time."""

    __tablename__ = "audit_tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(40))  # ISO 8601, exactly as signed
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(100))  # Ed25519, base64
