"""Use cases of the audit log: signed tree heads, entries, inclusion and consistency proofs (RFC 9162)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit import permissions as can
from sluice.audit import views
from sluice.audit.export import export_log, first_changed_entry
from sluice.audit.log import record
from sluice.audit.merkle import SubtreeHash
from sluice.audit.merkle import consistency_proof as make_consistency
from sluice.audit.merkle import inclusion_proof as make_inclusion
from sluice.audit.models import AuditEvent, AuditLeaf, AuditTreeHead
from sluice.audit.schemas import ConsistencyProof, EntriesPage, InclusionProof, LogEntry, TreeHead
from sluice.audit.sequencer import sign_tree_head, subtree_hashes, tree_size
from sluice.audit.standalone_verifier import verify_export
from sluice.db.session import settings_of
from sluice.errors import Invalid, NotFound
from sluice.identity.actor import Actor
from sluice.pagination import check_limit
from sluice.signing import Signer
from sluice.usecase import use_case


@use_case(can.can_check)
def latest_tree_head(session: Session, actor: Actor) -> TreeHead:
    """The newest signed tree head."""
    head = session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc()).limit(1)).first()
    if head is None:
        raise NotFound("no tree head has been signed yet; the auditor or the operator can ask for one")
    return _head(head)


@use_case(can.can_sign_head)
def new_tree_head(session: Session, actor: Actor) -> TreeHead:
    """Sequence every queued event and sign the log as it stands now."""
    return _head(sign_tree_head(session))


@use_case(can.can_read_entries)
def list_entries(
    session: Session, actor: Actor, *, start: int = 0, end: int | None = None, limit: int = 100
) -> EntriesPage:
    """Entries from index ``start`` (inclusive) to ``end`` (exclusive), in order."""
    check_limit(limit, settings_of(session).page_size_max)
    if start < 0 or (end is not None and end < start):
        raise Invalid("start must be ≥ 0 and end ≥ start", field="start")
    stop = min(end if end is not None else start + limit, start + limit)
    rows = session.execute(
        select(AuditLeaf.index, AuditLeaf.event_id, AuditLeaf.leaf_hash, AuditEvent.entry)
        .join(AuditEvent, AuditEvent.id == AuditLeaf.event_id)
        .where(AuditLeaf.index >= start, AuditLeaf.index < stop)
        .order_by(AuditLeaf.index)
    ).all()
    size = tree_size(session)
    entries = [
        LogEntry(index=r.index, event=r.event_id, entry=r.entry, leaf_hash=bytes(r.leaf_hash).hex()) for r in rows
    ]
    last = end if end is not None else size
    following = stop if stop < min(last, size) else None
    return EntriesPage(entries=entries, tree_size=size, next=following)


@use_case(can.can_check)
def inclusion_proof(
    session: Session, actor: Actor, *, index: int | None = None, event: int | None = None, tree_size_: int | None = None
) -> InclusionProof:
    """The audit path of one entry (by index, or by the audit event a receipt names) in a signed tree head's tree
    (the newest one unless ``tree_size_`` names another)."""
    leaf = _leaf(session, index, event)
    head = _signed_head(session, tree_size_)
    if leaf.index >= head.tree_size:
        raise Invalid(
            f"entry {leaf.index} is not in the tree of size {head.tree_size}: ask for a newer tree head",
            field="tree_size",
        )
    proof = _fetched(lambda fetch: make_inclusion(leaf.index, head.tree_size, fetch), session)
    return InclusionProof(
        index=leaf.index,
        event=leaf.event_id,
        tree_size=head.tree_size,
        leaf_hash=bytes(leaf.leaf_hash).hex(),
        root_hash=head.root_hash,
        proof=[p.hex() for p in proof],
    )


@use_case(can.can_check)
def consistency_proof(session: Session, actor: Actor, *, first: int, second: int) -> ConsistencyProof:
    """That the tree of ``first`` entries is a prefix of the tree of ``second`` (both signed heads)."""
    if not 0 < first <= second:
        raise Invalid("0 < first ≤ second", field="first")
    one, two = _signed_head(session, first), _signed_head(session, second)
    proof = _fetched(lambda fetch: make_consistency(first, second, fetch), session)
    return ConsistencyProof(
        first=first, second=second, first_root=one.root_hash, second_root=two.root_hash, proof=[p.hex() for p in proof]
    )


@use_case(can.can_read_entries)
def access_report(
    session: Session,
    actor: Actor,
    *,
    start: datetime,
    end: datetime,
    resource: str | None = None,
    organisation: str | None = None,
) -> AccessReport:
    """Who used which resource, by organisation and purpose, in [start, end); the denied attempts; and days of
    unusual volume."""
    if end <= start:
        raise Invalid("the period must end after it starts", field="end")
    return AccessReport(
        flows=views.flows(session, start, end, resource, organisation),
        denied=views.denials(session, start, end),
        unusual=views.unusual(session, start, end),
        daily=views.daily(session, start, end),
        recent=views.accesses(session, start, end, resource, organisation),
        capped=views.capped(session, start, end),
    )


class AccessReport(BaseModel):
    flows: list[views.Flow]
    denied: list[views.Denial]
    unusual: list[views.Unusual]
    daily: list[views.DailyRows]
    recent: list[views.Access]
    capped: bool = Field(description=f"The period held more than {views.MAX_EVENTS} events of a kind: narrow it.")


class Verification(BaseModel):
    """The result of recomputing the whole log, as ``sluice audit verify`` prints it."""

    ok: bool
    entries: int
    heads_checked: int
    problems: list[str]
    first_bad_index: int | None
    changed_entry: int | None  # an entry that no longer hashes to the leaf stored when it was sequenced
    report: str


@use_case(can.can_sign_head)
def verify_log(session: Session, actor: Actor, *, keys_dir: Path, signer: Signer) -> Verification:
    """Export the log to a scratch folder and check it as an outsider would (``standalone_verifier``): every
    entry rehashed, every tree head's signature and root; plus each entry against its stored leaf. The result
    is itself logged."""
    with tempfile.TemporaryDirectory() as scratch:
        export_log(session, signer, keys_dir, Path(scratch))
        changed = first_changed_entry(session)
        report = verify_export(Path(scratch))
    ok = report.ok and changed is None
    rendered = report.render()
    if changed is not None:
        rendered = (
            f"entry at index {changed} was changed after it was logged (it no longer hashes to its leaf)\n{rendered}"
        )
    record(
        session,
        actor,
        "audit.verify",
        "audit:log",
        ok=ok,
        entries=report.entries,
        heads=report.heads_checked,
        first_bad_index=report.first_bad_index,
        changed_entry=changed,
    )
    return Verification(
        ok=ok,
        entries=report.entries,
        heads_checked=report.heads_checked,
        problems=report.problems,
        first_bad_index=report.first_bad_index,
        changed_entry=changed,
        report=rendered,
    )


# --- helpers -------------------------------------------------------------------------------------------------


def _head(head: AuditTreeHead) -> TreeHead:
    return TreeHead(
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        timestamp=head.timestamp,
        key_id=head.key_id,
        signature=head.signature,
    )


def _leaf(session: Session, index: int | None, event: int | None) -> AuditLeaf:
    if (index is None) == (event is None):
        raise Invalid("name the entry by index or by event (one of them)", field="index")
    where = AuditLeaf.index == index if index is not None else AuditLeaf.event_id == event
    leaf = session.scalars(select(AuditLeaf).where(where)).one_or_none()
    if leaf is None:
        raise NotFound(
            "no such entry in the log yet (a new event takes its place within a second; ask again)",
            index=index,
            event=event,
        )
    return leaf


def _signed_head(session: Session, size: int | None) -> AuditTreeHead:
    query = select(AuditTreeHead).order_by(AuditTreeHead.tree_size.desc()).limit(1)
    if size is not None:
        query = select(AuditTreeHead).where(AuditTreeHead.tree_size == size)
    head = session.scalars(query).first()
    if head is None:
        raise NotFound(
            "no signed tree head of that size" if size is not None else "no tree head has been signed yet",
            tree_size=size,
        )
    return head


def _fetched(make: Callable[[SubtreeHash], list[bytes]], session: Session) -> list[bytes]:
    """Run a proof twice: once to learn which perfect subtrees it needs, then with them read in one query."""
    wanted: list[tuple[int, int]] = []

    def note(start: int, height: int) -> bytes:
        wanted.append((start, height))
        return bytes(32)

    make(note)
    hashes = subtree_hashes(session, wanted)
    return make(lambda start, height: hashes[(start, height)])
