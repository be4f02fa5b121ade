"""Writing the log to files another machine can verify without the platform (``standalone_verifier``):
``entries.tsv`` (index, tab, entry), ``tree_heads.jsonl`` (every signed head) and ``keys.json`` (the platform's
public keys, current and retired)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.audit.merkle import leaf_hash
from sluice.audit.models import AuditEvent, AuditLeaf, AuditTreeHead
from sluice.audit.standalone_verifier import ENTRIES
from sluice.signing import Signer, published_keys


@dataclass(frozen=True)
class Exported:
    entries: int
    heads: int


def export_log(session: Session, signer: Signer, keys_dir: Path, folder: Path) -> Exported:
    folder.mkdir(parents=True, exist_ok=True)
    entries = 0
    rows = session.execute(
        select(AuditLeaf.index, AuditEvent.entry)
        .join(AuditEvent, AuditEvent.id == AuditLeaf.event_id)
        .order_by(AuditLeaf.index)
        .execution_options(yield_per=10_000)
    )
    with (folder / ENTRIES).open("w", encoding="utf-8", newline="\n") as out:
        for index, entry in rows:
            out.write(f"{index}\t{entry}\n")  # canonical JSON holds no raw tab or line feed
            entries += 1
    heads = session.scalars(select(AuditTreeHead).order_by(AuditTreeHead.tree_size)).all()
    with (folder / "tree_heads.jsonl").open("w", encoding="utf-8") as out:
        for head in heads:
            fields = ("tree_size", "root_hash", "timestamp", "key_id", "signature")
            out.write(json.dumps({name: getattr(head, name) for name in fields}) + "\n")
    keys = [{"key_id": k.key_id, "public_key_pem": k.public_key_pem} for k in published_keys(signer, keys_dir)]
    (folder / "keys.json").write_text(json.dumps(keys, indent=2), "utf-8")
    return Exported(entries, len(heads))


def first_changed_entry(session: Session) -> int | None:
    """The first index whose entry no longer hashes to the leaf stored when it was sequenced (a tamperer who
    changed an entry but not its leaf), or None. Tree heads catch the rest; this names the exact entry."""
    rows = session.execute(
        select(AuditLeaf.index, AuditLeaf.leaf_hash, AuditEvent.entry)
        .join(AuditEvent, AuditEvent.id == AuditLeaf.event_id)
        .order_by(AuditLeaf.index)
        .execution_options(yield_per=10_000)
    )
    for index, stored, entry in rows:
        if leaf_hash(entry.encode("utf-8")) != bytes(stored):
            return int(index)
    return None
