"""The Merkle tree against RFC 9162 §2.1 itself.

``Rfc`` below is a literal transcription of the RFC's recursive definitions of MTH, PATH and SUBPROOF (memoised,
nothing else), so every proof ``sluice.audit.merkle`` builds from perfect-subtree fetches is compared with the
one the RFC defines; the Certificate Transparency reference vectors (the 8-leaf test tree) are a third opinion.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.audit.merkle import (
    EMPTY_ROOT,
    SubtreeHash,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root,
    root_from_subtrees,
    roots_of_prefixes,
    subtrees_ending_at,
    verify_consistency,
    verify_inclusion,
)

LARGEST = 5000


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n, by counting."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Rfc:
    """RFC 9162 §2.1.1 MTH, §2.1.3.1 PATH and §2.1.4.1 SUBPROOF over D[lo:hi] of a fixed list of entries."""

    def __init__(self, entries: list[bytes]) -> None:
        self.d = entries
        self._mth: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return _sha(b"")
        if n == 1:
            return _sha(b"\x00" + self.d[lo])
        if (lo, hi) not in self._mth:
            k = _k(n)
            self._mth[lo, hi] = _sha(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))
        return self._mth[lo, hi]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _k(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _k(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True)


ENTRIES = [f"entry {i}: {'x' * (i % 7)}".encode() for i in range(LARGEST)]
RFC = Rfc(ENTRIES)


def _stored_subtrees() -> dict[tuple[int, int], bytes]:
    """What the log would store: for every index, the perfect subtrees that end there, as append returns them."""
    builder = TreeBuilder()
    stored: dict[tuple[int, int], bytes] = {}
    for entry in ENTRIES:
        for start, height, digest in builder.append(leaf_hash(entry)):
            stored[start, height] = digest
    return stored


STORED = _stored_subtrees()


class Fetcher:
    """A ``subtree`` callback for a tree of ``size`` leaves that counts fetches and refuses nodes outside it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.fetches = 0

    def __call__(self, start: int, height: int) -> bytes:
        assert start % (1 << height) == 0, (start, height)
        assert start + (1 << height) <= self.size, (start, height, self.size)
        self.fetches += 1
        return STORED[start, height]


def _flip(digest: bytes, bit: int = 0) -> bytes:
    return bytes([digest[0] ^ (1 << bit), *digest[1:]])


def _with_changed(proof: list[bytes], position: int) -> list[bytes]:
    return [_flip(node) if i == position else node for i, node in enumerate(proof)]


# --- Known answers: the Certificate Transparency reference test tree --------------------------------------------

CT_ENTRIES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c6", "5f083f0a1a33ca07", "6b47aaf29ee3c2af"]),
    (5, 8, ["bc1a0643b12e4d2d", "ca854ea128ed050b", "d37ee418976dd957"]),
    (2, 3, ["fac54203e7cc696c"]),
    (1, 5, ["6e340b9cffb37a98", "5f083f0a1a33ca07", "bc1a0643b12e4d2d"]),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c6", "5f083f0a1a33ca07", "6b47aaf29ee3c2af"]),
    (6, 8, ["0ebc5d3437fbe2db", "ca854ea128ed050b", "d37ee418976dd957"]),
    (2, 5, ["5f083f0a1a33ca07", "bc1a0643b12e4d2d"]),
]


def _ct_fetch() -> SubtreeHash:
    stored: dict[tuple[int, int], bytes] = {}
    builder = TreeBuilder()
    for entry in CT_ENTRIES:
        for start, height, digest in builder.append(leaf_hash(entry)):
            stored[start, height] = digest
    return lambda start, height: stored[start, height]


def test_the_ct_test_tree_has_the_published_roots() -> None:
    assert [root(CT_ENTRIES[:n]).hex() for n in range(9)] == CT_ROOTS
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION)
def test_the_ct_test_tree_has_the_published_inclusion_proofs(index: int, size: int, expected: list[str]) -> None:
    proof = inclusion_proof(index, size, _ct_fetch())
    assert [node.hex()[:16] for node in proof] == expected
    assert verify_inclusion(leaf_hash(CT_ENTRIES[index]), index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "expected"), CT_CONSISTENCY)
def test_the_ct_test_tree_has_the_published_consistency_proofs(first: int, second: int, expected: list[str]) -> None:
    proof = consistency_proof(first, second, _ct_fetch())
    assert [node.hex()[:16] for node in proof] == expected
    assert verify_consistency(first, second, bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second]), proof)


def test_leaves_and_nodes_are_hashed_apart() -> None:
    assert leaf_hash(b"") == _sha(b"\x00")
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) == _sha(b"\x01" + left + right)
    assert leaf_hash(left + right) != node_hash(left, right)


# --- Roots ----------------------------------------------------------------------------------------------------------


def test_root_is_the_rfc_mth_for_every_size_to_300() -> None:
    builder = TreeBuilder()
    assert builder.root() == EMPTY_ROOT == root([])
    for size in range(1, 301):
        builder.append(leaf_hash(ENTRIES[size - 1]))
        assert builder.root() == RFC.mth(0, size) == root(ENTRIES[:size]), size


def test_roots_of_prefixes_in_one_pass() -> None:
    sizes = [0, 1, 2, 3, 7, 8, 9, 100, 255, 256, 257, 300]
    found = roots_of_prefixes((leaf_hash(e) for e in ENTRIES[:300]), [*sizes, 301, 4000])
    assert found == {size: RFC.mth(0, size) for size in sizes}


@pytest.mark.parametrize("size", [1000, 1023, 1024, 1025, 4095, 4096, LARGEST])
def test_root_of_larger_trees(size: int) -> None:
    assert root(ENTRIES[:size]) == RFC.mth(0, size)


def test_perfect_subtrees_fold_into_the_root() -> None:
    assert perfect_subtrees(0) == []
    assert perfect_subtrees(13) == [(0, 3), (8, 2), (12, 0)]
    for size in range(301):
        pieces = perfect_subtrees(size)
        assert sum(1 << height for _, height in pieces) == size
        hashes = [RFC.mth(start, start + (1 << height)) for start, height in pieces]
        assert root_from_subtrees(hashes) == RFC.mth(0, size)


def test_append_returns_exactly_the_subtrees_ending_at_its_index() -> None:
    builder = TreeBuilder()
    for index in range(300):
        made = builder.append(leaf_hash(ENTRIES[index]))
        assert [(start, height) for start, height, _ in made] == subtrees_ending_at(index)
        for start, height, digest in made:
            assert start + (1 << height) - 1 == index
            assert digest == RFC.mth(start, start + (1 << height))
        expected = [RFC.mth(s, s + (1 << h)) for s, h in perfect_subtrees(index + 1)]
        assert builder.frontier() == expected


def test_a_builder_resumes_from_its_frontier() -> None:
    for size in (0, 1, 5, 64, 97):
        frontier = [STORED[start, height] for start, height in perfect_subtrees(size)]
        builder = TreeBuilder.from_frontier(size, frontier)
        assert builder.root() == RFC.mth(0, size)
        for index in range(size, size + 40):
            builder.append(leaf_hash(ENTRIES[index]))
        assert builder.root() == RFC.mth(0, size + 40)
    with pytest.raises(ValueError, match="perfect subtrees"):
        TreeBuilder.from_frontier(5, [EMPTY_ROOT])


def test_the_split_point_is_the_largest_power_of_two_strictly_below() -> None:
    for n in range(2, 3000):
        assert largest_power_of_two_below(n) == _k(n)
    with pytest.raises(ValueError, match="not split"):
        largest_power_of_two_below(1)


# --- Inclusion proofs ------------------------------------------------------------------------------------------


def _check_inclusion(index: int, size: int) -> None:
    fetch = Fetcher(size)
    proof = inclusion_proof(index, size, fetch)
    assert proof == RFC.path(index, 0, size), (index, size)
    assert fetch.fetches <= 2 * size.bit_length()
    leaf, tree_root = leaf_hash(ENTRIES[index]), RFC.mth(0, size)
    assert verify_inclusion(leaf, index, size, proof, tree_root)
    assert not verify_inclusion(_flip(leaf), index, size, proof, tree_root)
    assert not verify_inclusion(leaf, index, size, proof, _flip(tree_root))
    for position in range(len(proof)):
        assert not verify_inclusion(leaf, index, size, _with_changed(proof, position), tree_root)
    assert not verify_inclusion(leaf, index, size, [*proof, tree_root], tree_root)
    extra = leaf_hash(b"extra")  # RFC step 4a: a node past the root is refused, whatever root it folds into
    assert not verify_inclusion(leaf, index, size, [*proof, extra], node_hash(extra, tree_root))
    if proof:
        assert not verify_inclusion(leaf, index, size, proof[:-1], tree_root)
    for other in {index - 1, index + 1, (index + size // 2) % size} - {index}:
        assert not verify_inclusion(leaf, other, size, proof, tree_root), (index, other, size)
    assert not verify_inclusion(leaf, index, 2 * size, proof, tree_root)  # a proof too short for the size claimed
    for other_size in {size - 1, size + 1, 2 * size} - {index}:
        if index < other_size <= LARGEST:
            assert not verify_inclusion(leaf, index, other_size, proof, RFC.mth(0, other_size)), (index, other_size)


def test_every_inclusion_proof_to_size_120() -> None:
    for size in range(1, 121):
        for index in range(size):
            _check_inclusion(index, size)


def test_sampled_inclusion_proofs_to_size_300_and_beyond() -> None:
    rng = random.Random(9162)
    sizes = [rng.randrange(121, 301) for _ in range(400)] + [rng.randrange(1000, LARGEST + 1) for _ in range(40)]
    for size in [*sizes, 256, 1024, 4096, LARGEST]:
        for index in {0, size - 1, rng.randrange(size), rng.randrange(size)}:
            _check_inclusion(index, size)


def test_inclusion_needs_a_leaf_inside_the_tree() -> None:
    leaf = leaf_hash(ENTRIES[0])
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(3, 3, Fetcher(3))
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(-1, 3, Fetcher(3))
    assert inclusion_proof(0, 1, Fetcher(1)) == []
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 1, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 0, [], leaf)
    assert not verify_inclusion(leaf, -1, 1, [], leaf)
    proof = inclusion_proof(5, 8, Fetcher(8))
    assert not verify_inclusion(leaf_hash(ENTRIES[5]), 5, 8, [*proof[:-1], b"short"], RFC.mth(0, 8))
    assert not verify_inclusion(leaf_hash(ENTRIES[5])[:31], 5, 8, proof, RFC.mth(0, 8))


def test_the_size_is_bound_by_the_signed_tree_head_not_by_the_proof() -> None:
    """RFC 9162's verifier reads the size only through its shifts, so a proof at size 8 also passes for a
    claimed size 7 *against the root of size 8*. That root was never signed with size 7: whoever checks a
    proof must take size and root together from one signed tree head."""
    proof = inclusion_proof(5, 8, Fetcher(8))
    leaf = leaf_hash(ENTRIES[5])
    assert verify_inclusion(leaf, 5, 7, proof, RFC.mth(0, 8))
    assert not verify_inclusion(leaf, 5, 7, proof, RFC.mth(0, 7))


# --- Consistency proofs -------------------------------------------------------------------------------------


def _check_consistency(first: int, second: int) -> None:
    fetch = Fetcher(second)
    proof = consistency_proof(first, second, fetch)
    assert proof == RFC.proof(first, second), (first, second)
    assert fetch.fetches <= 2 * second.bit_length() + 1
    first_root, second_root = RFC.mth(0, first), RFC.mth(0, second)
    assert verify_consistency(first, second, first_root, second_root, proof)
    if first == second:
        return
    assert not verify_consistency(first, second, _flip(first_root), second_root, proof)
    assert not verify_consistency(first, second, first_root, _flip(second_root), proof)
    for position in range(len(proof)):
        assert not verify_consistency(first, second, first_root, second_root, _with_changed(proof, position))
    assert not verify_consistency(first, second, first_root, second_root, proof[:-1])
    assert not verify_consistency(first, second, first_root, second_root, [*proof, second_root])
    extra = leaf_hash(b"extra")  # RFC step 6a: a node past the roots is refused, whatever roots it folds into
    assert not verify_consistency(
        first, second, node_hash(extra, first_root), node_hash(extra, second_root), [*proof, extra]
    )
    assert not verify_consistency(first, 2 * second, first_root, second_root, proof)  # too short for that size
    for other in {first - 1, first + 1} - {0, second}:
        assert not verify_consistency(other, second, RFC.mth(0, other), second_root, proof), (other, second)
    for other in {second - 1, second + 1} - {first}:
        if first < other <= LARGEST:
            assert not verify_consistency(first, other, first_root, RFC.mth(0, other), proof), (first, other)


def test_every_consistency_proof_to_size_120() -> None:
    for second in range(1, 121):
        for first in range(1, second + 1):
            _check_consistency(first, second)


def test_sampled_consistency_proofs_to_size_300_and_beyond() -> None:
    rng = random.Random(6962)
    pairs = [(rng.randrange(1, 301), rng.randrange(121, 301)) for _ in range(600)]
    pairs += [(rng.randrange(1, LARGEST), rng.randrange(1000, LARGEST + 1)) for _ in range(40)]
    pairs += [(1024, 4096), (1023, 1025), (2048, LARGEST), (1, LARGEST), (LARGEST - 1, LARGEST)]
    for first, second in pairs:
        _check_consistency(min(first, second), max(first, second))


def test_consistency_at_the_edges() -> None:
    eight = RFC.mth(0, 8)
    assert consistency_proof(8, 8, Fetcher(8)) == []
    assert verify_consistency(8, 8, eight, eight, [])
    assert not verify_consistency(8, 8, eight, eight, [eight])
    assert not verify_consistency(8, 8, RFC.mth(0, 7), eight, [])
    assert consistency_proof(0, 8, Fetcher(8)) == []
    assert verify_consistency(0, 8, EMPTY_ROOT, eight, [])
    assert not verify_consistency(0, 8, eight, eight, [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, eight, [eight])
    assert not verify_consistency(8, 6, eight, RFC.mth(0, 6), [])
    assert not verify_consistency(-1, 6, EMPTY_ROOT, RFC.mth(0, 6), [])
    assert not verify_consistency(4, 8, RFC.mth(0, 4), eight, [])  # RFC step 1: an empty proof fails
    assert not verify_consistency(4, 8, RFC.mth(0, 4)[:16], eight, consistency_proof(4, 8, Fetcher(8)))
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(9, 8, Fetcher(8))


def test_a_power_of_two_first_tree_is_its_own_first_node() -> None:
    """§2.1.4.2 step 2: when first is a power of two its root is a node of the second tree, left out of the
    proof and prepended by the verifier."""
    for first in (1, 2, 4, 64, 1024):
        proof = consistency_proof(first, first + 3, Fetcher(first + 3))
        assert RFC.mth(0, first) not in proof
        assert verify_consistency(first, first + 3, RFC.mth(0, first), RFC.mth(0, first + 3), proof)


# --- Properties ----------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=70))
def test_root_of_any_entries_is_the_rfc_mth(entries: list[bytes]) -> None:
    assert root(entries) == Rfc(entries).mth(0, len(entries))


@st.composite
def _tree_and_leaf(draw: Callable[..., int]) -> tuple[int, int, int]:
    second = draw(st.integers(1, LARGEST))
    return second, draw(st.integers(0, second - 1)), draw(st.integers(1, second))


@settings(max_examples=150, deadline=None)
@given(_tree_and_leaf())
def test_any_proof_in_a_large_tree_matches_the_rfc(case: tuple[int, int, int]) -> None:
    size, index, first = case
    assert inclusion_proof(index, size, Fetcher(size)) == RFC.path(index, 0, size)
    proof = consistency_proof(first, size, Fetcher(size))
    assert proof == RFC.proof(first, size)
    assert verify_consistency(first, size, RFC.mth(0, first), RFC.mth(0, size), proof)
