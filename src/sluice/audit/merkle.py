"""The Merkle tree of the audit log, exactly as RFC 9162 (Certificate Transparency v2) §2.1 defines it.

Pure functions over bytes; nothing here touches a database.

* ``leaf_hash``/``node_hash`` are the two domain-separated hashes (0x00 for leaves, 0x01 for nodes), and
  ``root`` is the Merkle Tree Hash MTH of §2.1.1 (the empty tree's hash is SHA-256 of the empty string).
* ``TreeBuilder`` computes roots incrementally: one append per leaf, O(1) amortised hashing, O(log n) memory.
* Storage. A tree of any size is a row of *perfect subtrees* (one per set bit of the size, largest first,
  ``perfect_subtrees``), and every node of the RFC's tree is either such a perfect subtree or the fold of a
  row of them (``root_from_subtrees``). A perfect subtree ``(start, height)`` covers the leaves
  ``start .. start + 2**height - 1`` and never changes once its last leaf is appended, so the log stores, for
  every index, the hashes of the perfect subtrees that END at that index (``subtrees_ending_at``; exactly what
  ``TreeBuilder.append`` returns). ``inclusion_proof`` and ``consistency_proof`` then need only a way to fetch
  one of those hashes, and make O(log n) fetches.
* ``verify_inclusion`` and ``verify_consistency`` are the algorithms of §2.1.3.2 and §2.1.4.2, step by step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""``subtree(start, height)`` → MTH of the leaves ``start .. start + 2**height - 1``; ``start`` is always a
multiple of ``2**height`` and height 0 is the leaf hash itself."""


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 ‖ entry): the hash of one log entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The RFC's split point k: the largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves is not split")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(size: int) -> list[tuple[int, int]]:
    """The decomposition of the leaves [0, size) into perfect subtrees, left to right, as (start, height):
    one per set bit of ``size``, largest first."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    found: list[tuple[int, int]] = []
    start = 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            found.append((start, height))
            start += 1 << height
    return found


def subtrees_ending_at(index: int) -> list[tuple[int, int]]:
    """The perfect subtrees whose last leaf is ``index``, as (start, height), smallest first: heights
    0 .. t where 2**t is the largest power of two dividing index + 1."""
    if index < 0:
        raise ValueError(f"negative leaf index {index}")
    count = index + 1
    heights = (count & -count).bit_length()
    return [(count - (1 << height), height) for height in range(heights)]


def root_from_subtrees(hashes: Sequence[bytes]) -> bytes:
    """MTH of a tree given the hashes of its ``perfect_subtrees``, left to right: folded from the right, as
    the RFC's recursion nests them (the empty row is the empty tree)."""
    if not hashes:
        return EMPTY_ROOT
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


class TreeBuilder:
    """A tree grown one leaf hash at a time, keeping only the hashes of its perfect subtrees (its frontier)."""

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []  # the hashes of perfect_subtrees(size), left to right

    @classmethod
    def from_frontier(cls, size: int, hashes: Sequence[bytes]) -> TreeBuilder:
        """Resume a tree of ``size`` leaves from the hashes of its ``perfect_subtrees(size)``."""
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {max(size, 0).bit_count()} perfect subtrees")
        builder = cls()
        builder._size = size
        builder._frontier = list(hashes)
        return builder

    @property
    def size(self) -> int:
        return self._size

    def frontier(self) -> list[bytes]:
        """The hashes of ``perfect_subtrees(self.size)``, left to right."""
        return list(self._frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash. Returns the perfect subtrees it completes as (start, height, hash), smallest
        first: exactly ``subtrees_ending_at`` the new leaf's index, which is what the log stores for it."""
        index = self._size
        completed = [(index, 0, leaf)]
        folded, height = leaf, 0
        while self._size >> height & 1:  # a perfect subtree of this height waits on the left: pair them
            folded = node_hash(self._frontier.pop(), folded)
            height += 1
            completed.append((index + 1 - (1 << height), height, folded))
        self._frontier.append(folded)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        return root_from_subtrees(self._frontier)


def root(entries: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of the entries (raw entries, not leaf hashes): O(n) hashing, O(log n) memory."""
    builder = TreeBuilder()
    for entry in entries:
        builder.append(leaf_hash(entry))
    return builder.root()


def roots_of_prefixes(leaf_hashes: Iterable[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """The roots of the trees of the given sizes over one pass of the leaf hashes (stopping once the largest
    is reached). A size larger than the leaves given is absent from the answer."""
    wanted = sorted(set(sizes))
    if wanted and wanted[0] < 0:
        raise ValueError(f"negative tree size {wanted[0]}")
    found: dict[int, bytes] = {}
    builder = TreeBuilder()
    leaves = iter(leaf_hashes)
    for size in wanted:
        while builder.size < size:
            leaf = next(leaves, None)
            if leaf is None:
                return found
            builder.append(leaf)
        found[size] = builder.root()
    return found


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf end first, in at most 2·log2(size) fetches.

    Walking down from the root, the sibling of a right turn is a perfect subtree; the sibling of the first
    left turn may be a ragged range (one fold of its perfect subtrees), and every later node is perfect."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []  # root end first; reversed at the end
    low, high = 0, size
    while high - low > 1:
        k = largest_power_of_two_below(high - low)
        if index < low + k:
            path.append(_range_hash(low + k, high, subtree))
            high = low + k
        else:
            path.append(subtree(low, k.bit_length() - 1))
            low += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: SubtreeHash) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1 (SUBPROOF), in O(log second) fetches.

    The RFC defines proofs for 0 < first < second; for first == second (SUBPROOF(m, D[m], true) = {}) and for
    first == 0 (the empty tree is a prefix of every tree) there is nothing to prove and the proof is empty."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from a tree of {first} to a tree of {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []  # root end first; reversed at the end
    low, high, first_root_known = 0, second, True
    while first != high:
        k = largest_power_of_two_below(high - low)
        if first - low <= k:
            proof.append(_range_hash(low + k, high, subtree))
            high = low + k
        else:
            proof.append(subtree(low, k.bit_length() - 1))
            low += k
            first_root_known = False
    if not first_root_known:
        proof.append(_range_hash(low, high, subtree))
    proof.reverse()
    return proof


def _range_hash(start: int, end: int, subtree: SubtreeHash) -> bytes:
    """MTH(D[start:end]) for a node of the RFC's tree. Such a node starts on a multiple of the smallest power
    of two ≥ its width, so its perfect subtrees are those of a tree of end - start leaves, shifted by start."""
    pieces = [subtree(start + offset, height) for offset, height in perfect_subtrees(end - start)]
    return root_from_subtrees(pieces)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf ``leaf_hash`` at ``index`` in the tree ``root`` of
    ``size`` leaves? Malformed input is False, never an exception."""
    if not 0 <= index < size or not _all_hashes([leaf_hash, root, *proof]):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not (fn & 1 or fn == 0):
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the tree ``first_root`` of ``first`` leaves to be a prefix of
    the tree ``second_root`` of ``second`` leaves? Malformed input is False, never an exception.

    The RFC's algorithm covers 0 < first < second (its step 1 fails an empty proof). Outside that range only
    the trivially true claims hold, with an empty proof: equal sizes with equal roots, and the empty tree
    (first == 0, first_root the hash of the empty string) as a prefix of any tree."""
    if not 0 <= first <= second or not _all_hashes([first_root, second_root, *proof]):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not (fn & 1 or fn == 0):
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


def _all_hashes(values: Iterable[object]) -> bool:
    return all(isinstance(value, bytes) and len(value) == HASH_SIZE for value in values)
