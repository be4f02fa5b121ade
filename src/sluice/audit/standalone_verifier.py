"""Offline verifier for an exported Sluice audit log; this one file needs only Python 3.11+ and ``cryptography``.

It imports nothing from Sluice, so it can be copied to another machine and run there::

    python standalone_verifier.py EXPORT_DIR [--keys PINNED_KEYS.json]
    python -m sluice.audit.standalone_verifier EXPORT_DIR

The export directory holds:

* ``entries.tsv``: one line per entry, in index order: the index (decimal), a tab, the entry, a line feed. The
  entry is the canonical JSON of the log entry exactly as stored, and its UTF-8 bytes between the tab and the
  line feed are the leaf (RFC 9162 §2.1.1); canonical JSON escapes every control character, so an entry never
  holds a raw tab or line feed. The bytes are hashed as read, never decoded.
* ``tree_heads.jsonl``: one signed tree head per line: ``tree_size``, ``root_hash`` (hex), ``timestamp``
  (ISO 8601), ``key_id`` and ``signature``, base64 Ed25519 over the canonical JSON (sorted keys, no spaces,
  UTF-8) of the first four fields.
* ``keys.json``: ``[{"key_id": str, "public_key_pem": str}, ...]``.

It checks that the indexes run 0..n-1 (naming the first missing, duplicated or out-of-order one), recomputes
the Merkle tree over the entries in one pass, and checks every tree head: its signature, and that its root is
the recomputed root at its size. A tampered entry shows as the first head whose root differs; the altered
entry lies between the largest head that still matches and that head. Exit status 0 when everything holds.

A head's signature proves only that the holder of the key signed it: take the public keys from somewhere
other than the export itself (``--keys``), or an exporter who can rewrite the log can re-sign it too.
The Merkle hashing below duplicates ``sluice.audit.merkle`` on purpose, to keep this file self-contained.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import hashlib
import itertools
import json
import operator
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

ENTRIES = "entries.tsv"
TREE_HEADS = "tree_heads.jsonl"
KEYS = "keys.json"
SIGNED_FIELDS = ("tree_size", "root_hash", "timestamp", "key_id")
EMPTY_ROOT = hashlib.sha256(b"").digest()


# --- RFC 9162 §2.1.1 hashing (the same as sluice.audit.merkle) ---------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


CHUNK = 4096  # entries hashed as one block when aligned


class TreeBuilder:
    """Roots of a growing tree, keeping only the hashes of its perfect subtrees (one per set bit of the size)."""

    def __init__(self) -> None:
        self.size = 0
        self._frontier: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        folded, height = leaf, 0
        while self.size >> height & 1:
            folded = node_hash(self._frontier.pop(), folded)
            height += 1
        self._frontier.append(folded)
        self.size += 1

    def extend(self, entries: list[bytes]) -> None:
        """Append many entries (raw). A whole aligned block of CHUNK is hashed level by level and joins the tree as
        one perfect subtree: the same hashes as one by one, with far less Python per leaf."""
        leaves = [hashlib.sha256(b"\x00" + entry).digest() for entry in entries]
        if len(leaves) != CHUNK or self.size % CHUNK:
            for leaf in leaves:
                self.append(leaf)
            return
        level = leaves
        while len(level) > 1:
            level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
        folded, height = level[0], CHUNK.bit_length() - 1
        while self.size >> height & 1:
            folded = node_hash(self._frontier.pop(), folded)
            height += 1
        self._frontier.append(folded)
        self.size += CHUNK

    def root(self) -> bytes:
        if not self._frontier:
            return EMPTY_ROOT
        folded = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            folded = node_hash(left, folded)
        return folded


# --- The report -----------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What the verifier found. ``entries``: entries read in a clean 0..n-1 run (the ones hashed);
    ``heads_checked``: tree heads read; ``first_bad_index``: the earliest log index that cannot be trusted."""

    ok: bool = True
    entries: int = 0
    heads_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    def fail(self, problem: str, index: int | None = None) -> None:
        self.ok = False
        self.problems.append(problem)
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index

    def render(self) -> str:
        if self.ok:
            return f"OK: {self.entries} entries, {self.heads_checked} tree heads verified"
        lines = [
            f"FAILED: {len(self.problems)} problem(s); {self.entries} entries in order, {self.heads_checked} tree heads read"
        ]
        if self.first_bad_index is not None:
            lines.append(f"first bad index: {self.first_bad_index}")
        lines.extend(f"- {problem}" for problem in self.problems)
        return "\n".join(lines)


@dataclass(frozen=True)
class TreeHead:
    line: int
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str

    def label(self) -> str:
        return f"tree head of size {self.tree_size} ({TREE_HEADS} line {self.line})"


@dataclass
class EntryScan:
    """The result of one pass over the entries: the roots at the wanted sizes over the clean run 0..count-1."""

    count: int = 0
    roots: dict[int, bytes] = field(default_factory=dict)
    broken_at: int | None = None  # the first index that is not where it should be


# --- Verification ------------------------------------------------------------------------------------------------


def verify_export(path: Path | str, keys_file: Path | str | None = None) -> Report:
    """Verify the export in ``path``; the public keys come from ``keys_file`` when given, else ``keys.json``."""
    folder = Path(path)
    report = Report()
    keys = _load_keys(Path(keys_file) if keys_file is not None else folder / KEYS, report)
    heads = _load_heads(folder / TREE_HEADS, report)
    report.heads_checked = len(heads)
    signed = [head for head in heads if _signature_holds(head, keys, report)]
    scan = _scan_entries(folder / ENTRIES, {head.tree_size for head in signed}, report)
    report.entries = scan.count
    _check_roots(signed, scan, report)
    return report


def _load_keys(path: Path, report: Report) -> dict[str, Ed25519PublicKey]:
    try:
        listed = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        report.fail(f"{path.name}: cannot be read ({exc})")
        return {}
    keys: dict[str, Ed25519PublicKey] = {}
    for number, item in enumerate(listed if isinstance(listed, list) else [listed], start=1):
        key = _public_key(item)
        if key is None:
            report.fail(f"{path.name}: key {number} is not a {{key_id, public_key_pem}} Ed25519 key")
        else:
            keys[item["key_id"]] = key
    return keys


def _public_key(item: Any) -> Ed25519PublicKey | None:
    if not isinstance(item, dict) or not isinstance(item.get("key_id"), str):
        return None
    try:
        key = load_pem_public_key(str(item.get("public_key_pem")).encode("utf-8"))
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def _load_heads(path: Path, report: Report) -> list[TreeHead]:
    heads: list[TreeHead] = []
    for line_number, value in _json_lines(path, report):
        head = _tree_head(line_number, value)
        if head is None:
            report.fail(f"{TREE_HEADS} line {line_number}: not a tree head")
        else:
            heads.append(head)
    return heads


def _tree_head(line: int, value: Any) -> TreeHead | None:
    if not isinstance(value, dict):
        return None
    size = value.get("tree_size")
    texts = [value.get(name) for name in ("root_hash", "timestamp", "key_id", "signature")]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not all(isinstance(t, str) for t in texts):
        return None
    root_hash, timestamp, key_id, signature = (str(t) for t in texts)
    return TreeHead(line, size, root_hash, timestamp, key_id, signature)


def _signature_holds(head: TreeHead, keys: dict[str, Ed25519PublicKey], report: Report) -> bool:
    key = keys.get(head.key_id)
    if key is None:
        report.fail(f"{head.label()}: unknown key {head.key_id!r}")
        return False
    body = {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "key_id": head.key_id,
    }
    try:
        key.verify(base64.b64decode(head.signature, validate=True), _canonical(body))
    except (InvalidSignature, binascii.Error, ValueError):
        report.fail(f"{head.label()}: bad signature")
        return False
    if not _well_formed(head):
        report.fail(
            f"{head.label()}: signed, but its root_hash is not 32 bytes of hex or its timestamp is not ISO 8601"
        )
        return False
    return True


def _well_formed(head: TreeHead) -> bool:
    try:
        datetime.fromisoformat(head.timestamp)
        return len(bytes.fromhex(head.root_hash)) == 32
    except ValueError:
        return False


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _scan_entries(path: Path, sizes: set[int], report: Report) -> EntryScan:
    """One pass: hash the entries while their indexes run 0, 1, 2, …; after the first misplaced one, only note
    where the indexes are, to say what went wrong."""
    scanning = _Scanning(sorted(sizes), report)
    for first_line, lines in _line_batches(path, report):
        if not scanning.whole_batch(lines):
            for offset, line in enumerate(lines):
                if scanning.scan.broken_at is not None:
                    break
                scanning.one_line(first_line + offset, line)
    return scanning.finish()


@dataclass
class _Scanning:
    sizes: list[int]  # the signed heads' sizes, ascending: the roots to keep
    report: Report
    scan: EntryScan = field(default_factory=EntryScan)
    builder: TreeBuilder = field(default_factory=TreeBuilder)
    pending: list[bytes] = field(default_factory=list)  # read in order, not yet hashed
    seen_after: dict[int, int] = field(default_factory=dict)  # index -> line, after the break
    first_wrong: tuple[int, int] | None = None  # (line, index found) where the break is

    def __post_init__(self) -> None:
        if self.sizes and self.sizes[0] == 0:
            self.scan.roots[0] = self.builder.root()

    def whole_batch(self, lines: list[bytes]) -> bool:
        """Take a whole batch in one go when every line is well formed and in order."""
        if self.first_wrong is not None or self.scan.broken_at is not None:
            return False
        entries = _in_order(lines, self.builder.size + len(self.pending))
        if entries is None:
            return False
        self.pending.extend(entries)
        self._hash_pending(final=False)
        return True

    def one_line(self, line_number: int, line: bytes) -> None:
        if not line.strip():
            return
        index, entry = _entry(line)
        if self.first_wrong is not None:
            if index is not None:
                self.seen_after.setdefault(index, line_number)
            return
        if index is None or entry is None:
            self._hash_pending(final=True)
            self.report.fail(
                f"{ENTRIES} line {line_number}: not an index<TAB>entry line (expected index {self.builder.size})",
                self.builder.size,
            )
            self.scan.broken_at = self.builder.size
            return
        if index != self.builder.size + len(self.pending):
            self.first_wrong = (line_number, index)
            return
        self.pending.append(entry)
        self._hash_pending(final=False)

    def _hash_pending(self, final: bool) -> None:
        """Hash what is pending up to each CHUNK boundary (one perfect subtree at a time) and each head's size
        (keeping its root); the rest waits for more entries unless ``final``."""
        while self.pending:
            size = self.builder.size
            cut = (size // CHUNK + 1) * CHUNK
            head = bisect.bisect_right(self.sizes, size)
            if head < len(self.sizes):
                cut = min(cut, self.sizes[head])
            take = cut - size
            if take > len(self.pending):
                if not final:
                    return
                take = len(self.pending)
            self.builder.extend(self.pending[:take])
            del self.pending[:take]
            if head < len(self.sizes) and self.sizes[head] == self.builder.size:
                self.scan.roots[self.builder.size] = self.builder.root()

    def finish(self) -> EntryScan:
        if self.scan.broken_at is None:
            self._hash_pending(final=True)
        self.scan.count = self.builder.size
        if self.first_wrong is not None:
            self.scan.broken_at = _misplaced(self.builder.size, *self.first_wrong, self.seen_after, self.report)
        return self.scan


_TAB_SPLIT = operator.methodcaller("partition", b"\t")
_INDEX, _REST = operator.itemgetter(0), operator.itemgetter(2)
_WITHOUT_LF = operator.itemgetter(slice(None, -1))


def _in_order(lines: list[bytes], expected: int) -> list[bytes] | None:
    """The entries of a batch of lines ``index<TAB>entry<LF>`` whose indexes run on from ``expected``, written
    exactly as the exporter writes them (decimal, no sign, spaces or leading zeros); else None (the batch is then
    read line by line, to say exactly what is wrong). Done with C-level maps: this is the verifier's inner loop.

    Exactness without formatting every index: ``int`` accepts more than the canonical decimal ("07", "+7", " 7",
    "0_7"), but every such form is longer, so equal values and an equal total length mean canonical forms."""
    parts = list(map(_TAB_SPLIT, lines))
    indexes = list(map(_INDEX, parts))
    stop = expected + len(lines)
    try:
        if list(map(int, indexes)) != list(range(expected, stop)):
            return None
    except ValueError:
        return None
    if sum(map(len, indexes)) != _decimal_width(expected, stop):
        return None  # a line without a tab fails here too: its "index" holds the whole line
    return list(map(_WITHOUT_LF, map(_REST, parts)))  # every line ends in LF (_line_batches)


def _decimal_width(start: int, stop: int) -> int:
    """The total number of digits of the decimals start, start + 1, …, stop - 1."""
    total, low, width = 0, 0, 1
    while low < stop:
        high = 10**width
        total += max(0, min(stop, high) - max(start, low)) * width
        low, width = high, width + 1
    return total


def _line_batches(path: Path, report: Report) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, CHUNK lines, each ending in LF) — raw bytes: the entry's bytes are the leaf."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        report.fail(f"{path.name}: cannot be read ({exc})")
        return
    with handle:
        first = 1
        while lines := list(itertools.islice(handle, CHUNK)):
            if not lines[-1].endswith(b"\n"):
                lines[-1] += b"\n"
            yield first, lines
            first += len(lines)


def _entry(line: bytes) -> tuple[int | None, bytes | None]:
    """(index, entry) of one line ending in LF; (None, None) when it is not ``index<TAB>entry``."""
    digits, tab, entry = line.partition(b"\t")
    if not tab or not digits.isdigit() or b"%d" % int(digits) != digits:
        return None, None
    return int(digits), entry[:-1]


def _misplaced(expected: int, line: int, found: int, later: dict[int, int], report: Report) -> int:
    """Say why line ``line`` holds index ``found`` where ``expected`` should be; return the first bad index."""
    where = f"{ENTRIES} line {line}"
    if found < expected:
        report.fail(f"{where}: index {found} duplicated (it already came before; expected index {expected})", found)
        return found
    if expected in later:
        report.fail(
            f"{where}: out of order: index {found} where {expected} should be ({expected} is on line {later[expected]})",
            expected,
        )
    else:
        report.fail(f"{where}: index {expected} missing (found {found} in its place)", expected)
    return expected


def _check_roots(heads: list[TreeHead], scan: EntryScan, report: Report) -> None:
    matching: list[int] = []
    mismatched: list[TreeHead] = []
    for head in sorted(heads, key=lambda h: h.tree_size):
        if head.tree_size > scan.count:
            _uncheckable(head, scan, report)
        elif scan.roots[head.tree_size] == bytes.fromhex(head.root_hash):
            matching.append(head.tree_size)
        else:
            mismatched.append(head)
    for head in mismatched:
        _locate(head, matching, report)


def _uncheckable(head: TreeHead, scan: EntryScan, report: Report) -> None:
    if scan.broken_at is None:
        report.fail(
            f"{head.label()}: entries missing after {scan.count} (indexes {scan.count}..{head.tree_size - 1})",
            scan.count,
        )
    else:
        report.fail(f"{head.label()}: not checked, only the first {scan.count} entries are in index order")


def _locate(head: TreeHead, matching: list[int], report: Report) -> None:
    """The altered entry lies after the largest matching head below this one, and before this head's size."""
    if head.tree_size == 0:
        report.fail(f"{head.label()}: the empty tree's root is the SHA-256 of nothing; this head is wrong")
        return
    later = [size for size in matching if size >= head.tree_size]
    if later:
        report.fail(
            f"{head.label()}: root differs, yet a head of size {later[0]} matches the entries: this head is wrong, not the entries"
        )
        return
    low = max((size for size in matching if size < head.tree_size), default=0)
    where = (
        f"entry {low} was altered"
        if head.tree_size - low == 1
        else f"the first altered entry is among indexes {low}..{head.tree_size - 1}"
    )
    report.fail(f"{head.label()}: root differs from the entries; {where}", low)


def _json_lines(path: Path, report: Report) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; a line that is not JSON is reported and yields None."""
    try:
        handle = path.open("rb")  # bytes: a line that is not UTF-8 is one bad line, not an unreadable file
    except OSError as exc:
        report.fail(f"{path.name}: cannot be read ({exc})")
        return
    with handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield line_number, json.loads(line.decode("utf-8"))
                except ValueError:  # UnicodeDecodeError included
                    yield line_number, None


# --- Command line ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an exported Sluice audit log offline.")
    parser.add_argument("export", type=Path, help="the export directory (entries.tsv, tree_heads.jsonl, keys.json)")
    parser.add_argument("--keys", type=Path, help="pinned public keys to use instead of the export's keys.json")
    arguments = parser.parse_args(argv)
    report = verify_export(arguments.export, arguments.keys)
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
