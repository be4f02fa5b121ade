"""Group commit into the Merkle log: queued events get consecutive indexes in batches, with their leaf hashes
and the perfect-subtree hashes each new leaf completes; tree heads are signed over the result.

One sequencer at a time: on PostgreSQL a transaction-scoped advisory lock serialises the API processes (no
gaps, no duplicate indexes); SQLite has one writer. Events are durable before this runs — they were committed
with the change they record — so a crash between batches loses nothing: the queue is simply taken up again.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, delete, func, insert, select, text
from sqlalchemy.orm import Session

from sluice.audit.log import canonical_json
from sluice.audit.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash, perfect_subtrees, root_from_subtrees
from sluice.audit.models import AuditEvent, AuditLeaf, AuditNode, AuditQueue, AuditTreeHead
from sluice.db.session import now, signer_of

SEQUENCER_LOCK = 5113  # an arbitrary, fixed advisory-lock number for the one sequencer
BATCH = 2000


def tree_size(session: Session) -> int:
    last = session.scalar(select(func.max(AuditLeaf.index)))
    return 0 if last is None else int(last) + 1


def subtree_hashes(session: Session, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of perfect subtrees given as (start, height), in one read."""
    keys = {(start + (1 << height) - 1, height): (start, height) for start, height in wanted}
    if not keys:
        return {}
    values: dict[str, int] = {}
    for number, (end, height) in enumerate(sorted(keys)):
        values[f"e{number}"], values[f"h{number}"] = end, height
    rows = session.execute(_nodes_at(len(keys)), values)
    return {keys[(end, height)]: bytes(hash_) for end, height, hash_ in rows}


@functools.cache
def _nodes_at(count: int) -> TextClause:
    """Each wanted node by its whole primary key: both SQLite and PostgreSQL answer an OR of equalities from the
    key (measured: SQLite scans for ``(end_index, height) IN (…)``, and an IN on end_index alone reads every
    height there). Plain text: building the expression tree costs more than running the query."""
    wanted = " OR ".join(f"(end_index = :e{n} AND height = :h{n})" for n in range(count))
    return text(f"SELECT end_index, height, hash FROM audit_nodes WHERE {wanted}")  # noqa: S608 (bound values only)


def root_at(session: Session, size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    parts = perfect_subtrees(size)
    hashes = subtree_hashes(session, parts)
    return root_from_subtrees([hashes[part] for part in parts])


def sequence(session: Session, limit: int = BATCH) -> int:
    """Give up to ``limit`` queued events their place in the log, oldest first; return how many."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCER_LOCK})
    queued = list(session.scalars(select(AuditQueue.event_id).order_by(AuditQueue.event_id).limit(limit)))
    if not queued:
        return 0
    size = tree_size(session)
    parts = perfect_subtrees(size)
    hashes = subtree_hashes(session, parts)
    builder = TreeBuilder.from_frontier(size, [hashes[part] for part in parts])
    entries = session.execute(
        select(AuditEvent.id, AuditEvent.entry).where(AuditEvent.id.in_(queued)).order_by(AuditEvent.id)
    ).all()
    leaves: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for offset, (event_id, entry) in enumerate(entries):
        leaf = leaf_hash(entry.encode("utf-8"))
        leaves.append({"index": size + offset, "event_id": event_id, "leaf_hash": leaf})
        for start, height, digest in builder.append(leaf):
            nodes.append({"end_index": start + (1 << height) - 1, "height": height, "hash": digest})
    session.execute(insert(AuditLeaf), leaves)
    session.execute(insert(AuditNode), nodes)
    session.execute(delete(AuditQueue).where(AuditQueue.event_id.in_(queued)))
    return len(entries)


def head_body(size: int, root: bytes, timestamp: str, key_id: str) -> dict[str, Any]:
    return {"tree_size": size, "root_hash": root.hex(), "timestamp": timestamp, "key_id": key_id}


def sign_tree_head(session: Session, *, at: datetime | None = None) -> AuditTreeHead:
    """Sequence what is queued, then sign the log's size and root (or return the newest head if nothing grew)."""
    while sequence(session):
        pass
    size = tree_size(session)
    newest = session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc()).limit(1)).first()
    if newest is not None and newest.tree_size == size:
        return newest
    key = signer_of(session).current()
    timestamp = (at or now(session)).isoformat()
    root = root_at(session, size)
    body = head_body(size, root, timestamp, key.key_id)
    signature = base64.b64encode(key.sign(canonical_json(body).encode("utf-8"))).decode("ascii")
    head = AuditTreeHead(
        tree_size=size, root_hash=root.hex(), timestamp=timestamp, key_id=key.key_id, signature=signature
    )
    session.add(head)
    session.flush()
    return head


def head_due(session: Session, every_seconds: float) -> bool:
    """Whether the log grew since the newest head, and that head is older than ``every_seconds``."""
    newest = session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc()).limit(1)).first()
    if newest is None:
        return tree_size(session) > 0
    age = (now(session) - datetime.fromisoformat(newest.timestamp)).total_seconds()
    return age >= every_seconds and tree_size(session) > newest.tree_size
