"""The offline verifier finds each way an export can be tampered with, at the right index."""

from __future__ import annotations

import ast
import base64
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.audit import merkle, standalone_verifier
from sluice.audit.standalone_verifier import Report, verify_export

SIZE = 20
KEY_ID = "k-2026"


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entries(count: int = SIZE) -> list[str]:
    return [_canonical({"action": "read", "actor": "zoë", "n": i, "target": f"dataset/{i}"}) for i in range(count)]


@dataclass
class Export:
    """An export under construction: entry lines (index, entry) and signed heads over the genuine entries."""

    folder: Path
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    lines: list[tuple[int, str]] = field(default_factory=lambda: list(enumerate(_entries())))
    head_sizes: list[int] = field(default_factory=lambda: list(range(SIZE + 1)))

    def head(
        self, size: int, entries: list[str] | None = None, key_id: str = KEY_ID, root_hash: object = None
    ) -> dict[str, object]:
        genuine = entries if entries is not None else _entries(max(size, SIZE))
        body: dict[str, object] = {
            "tree_size": size,
            "root_hash": root_hash or merkle.root(e.encode() for e in genuine[:size]).hex(),
            "timestamp": f"2026-12-01T09:{size % 60:02d}:00+00:00",
            "key_id": key_id,
        }
        signature = self.key.sign(_canonical(body).encode())
        return {**body, "signature": base64.b64encode(signature).decode()}

    def write(self, heads: list[dict[str, object]] | None = None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "entries.tsv").write_text("".join(f"{i}\t{e}\n" for i, e in self.lines), "utf-8")
        heads = heads if heads is not None else [self.head(size) for size in self.head_sizes]
        (self.folder / "tree_heads.jsonl").write_text("".join(_canonical(h) + "\n" for h in heads), "utf-8")
        (self.folder / "keys.json").write_text(json.dumps([{"key_id": KEY_ID, "public_key_pem": self.pem()}]), "utf-8")
        return self.folder

    def pem(self) -> str:
        public = self.key.public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return Export(tmp_path / "export")


def _failed(report: Report, first_bad_index: int | None, *phrases: str) -> None:
    assert not report.ok
    assert report.first_bad_index == first_bad_index, report.problems
    text = "\n".join(report.problems)
    for phrase in phrases:
        assert phrase in text, report.problems


def test_an_untouched_export_verifies(export: Export) -> None:
    report = verify_export(export.write())
    assert report == Report(ok=True, entries=SIZE, heads_checked=SIZE + 1, problems=[], first_bad_index=None)
    assert report.render() == f"OK: {SIZE} entries, {SIZE + 1} tree heads verified"


def test_a_changed_entry_is_found_at_its_index(export: Export) -> None:
    export.lines[7] = (7, export.lines[7][1].replace("zoë", "zoe"))
    report = verify_export(export.write())
    _failed(report, 7, "tree head of size 8", "entry 7 was altered")
    assert len(report.problems) == SIZE - 7  # every head from size 8 on


def test_with_sparse_heads_a_changed_entry_is_placed_between_two_heads(export: Export) -> None:
    export.head_sizes = [4, 10, 16, SIZE]
    export.lines[7] = (7, export.lines[7][1].replace("read", "write"))
    _failed(verify_export(export.write()), 4, "tree head of size 10", "among indexes 4..9")


def test_a_missing_entry(export: Export) -> None:
    del export.lines[7]
    _failed(verify_export(export.write()), 7, "index 7 missing")


def test_a_missing_entry_with_the_rest_renumbered(export: Export) -> None:
    del export.lines[7]
    export.lines = [(i, entry) for i, (_, entry) in enumerate(export.lines)]
    _failed(verify_export(export.write()), 7, "entry 7 was altered", f"entries missing after {SIZE - 1}")


def test_a_duplicated_index(export: Export) -> None:
    export.lines.insert(8, export.lines[7])
    _failed(verify_export(export.write()), 7, "index 7 duplicated")


def test_two_entries_swapped_with_their_indexes(export: Export) -> None:
    export.lines[7], export.lines[8] = export.lines[8], export.lines[7]
    _failed(verify_export(export.write()), 7, "out of order", "index 8 where 7 should be")


def test_two_entries_swapped_under_the_same_indexes(export: Export) -> None:
    (_, seventh), (_, eighth) = export.lines[7], export.lines[8]
    export.lines[7], export.lines[8] = (7, eighth), (8, seventh)
    _failed(verify_export(export.write()), 7, "entry 7 was altered")


def test_an_inserted_entry(export: Export) -> None:
    export.lines.insert(7, (7, _canonical({"action": "grant", "actor": "mallory"})))
    export.lines = [(i, entry) for i, (_, entry) in enumerate(export.lines)]
    report = verify_export(export.write())
    _failed(report, 7, "entry 7 was altered")
    assert report.entries == SIZE + 1


def test_a_bad_signature(export: Export) -> None:
    heads = [export.head(size) for size in export.head_sizes]
    heads[5] = {**heads[5], "timestamp": "2026-12-02T00:00:00+00:00"}  # signed body changed after signing
    _failed(verify_export(export.write(heads)), None, "tree head of size 5", "bad signature")


def test_a_head_signed_by_an_unknown_key(export: Export) -> None:
    heads = [export.head(size) for size in export.head_sizes]
    heads[3] = export.head(3, key_id="someone-else")
    _failed(verify_export(export.write(heads)), None, "unknown key 'someone-else'")


def test_a_wrong_head_over_entries_that_other_heads_confirm(export: Export) -> None:
    heads = [export.head(size) for size in export.head_sizes]
    heads.append(export.head(9, [*_entries()[:8], "{}"]))  # signed, but over other entries than the log's
    heads.append(export.head(0, root_hash=heads[1]["root_hash"]))
    report = verify_export(export.write(heads))
    _failed(report, None, "tree head of size 9", "yet a head of size 9 matches the entries: this head is wrong")
    assert "tree head of size 0 (tree_heads.jsonl line 23): the empty tree's root" in report.problems[0]


def test_a_head_claiming_more_entries_than_exported(export: Export) -> None:
    heads = [export.head(size) for size in export.head_sizes]
    heads.append(export.head(SIZE + 5, _entries(SIZE + 5)))
    _failed(verify_export(export.write(heads)), SIZE, f"tree head of size {SIZE + 5}", f"entries missing after {SIZE}")


def test_a_truncated_export(export: Export) -> None:
    del export.lines[17:]
    _failed(verify_export(export.write()), 17, "entries missing after 17")


@pytest.mark.parametrize("index", ["4 ", "+4", "04", "four", ""])
def test_a_malformed_line(export: Export, index: str) -> None:
    folder = export.write()
    lines = (folder / "entries.tsv").read_text("utf-8").splitlines()
    lines[4] = index + lines[4][1:]
    (folder / "entries.tsv").write_text("\n".join(lines), "utf-8")  # and no line feed after the last line
    _failed(verify_export(folder), 4, "line 5: not an index<TAB>entry line")


def test_a_line_without_its_tab(export: Export) -> None:
    folder = export.write()
    text = (folder / "entries.tsv").read_text("utf-8")
    (folder / "entries.tsv").write_text(text.replace("4\t", "4 ", 1), "utf-8")
    _failed(verify_export(folder), 4, "line 5: not an index<TAB>entry line")


def test_blank_lines_and_a_missing_last_line_feed_change_nothing(export: Export) -> None:
    folder = export.write()
    text = (folder / "entries.tsv").read_text("utf-8")
    (folder / "entries.tsv").write_text("\n" + text.replace("\n", "\n\n", 3).rstrip("\n"), "utf-8")
    assert verify_export(folder).ok


def test_an_entry_whose_bytes_are_not_utf8_is_an_altered_entry(export: Export) -> None:
    folder = export.write()
    raw = (folder / "entries.tsv").read_bytes()
    (folder / "entries.tsv").write_bytes(
        raw.replace("zoë".encode(), b"zo\xff", 6).replace(b"zo\xff", "zoë".encode(), 5)
    )
    _failed(verify_export(folder), 5, "entry 5 was altered")


def test_an_entry_split_by_a_raw_line_feed_is_found_at_its_index(export: Export) -> None:
    export.lines[6] = (6, export.lines[6][1].replace("read", "re\nad"))
    _failed(verify_export(export.write()), 6, "line 8: not an index<TAB>entry line")


def test_pinned_keys_catch_an_export_re_signed_with_another_key(export: Export, tmp_path: Path) -> None:
    pinned = tmp_path / "pinned.json"
    pinned.write_text(json.dumps([{"key_id": KEY_ID, "public_key_pem": export.pem()}]), "utf-8")
    forger = Export(tmp_path / "forged")
    forger.lines[7] = (7, _canonical({"action": "nothing to see"}))
    heads = [forger.head(size, [entry for _, entry in forger.lines]) for size in forger.head_sizes]
    forged = forger.write(heads)
    assert verify_export(forged).ok  # consistent with itself and with the key it ships
    report = verify_export(forged, pinned)
    assert not report.ok
    assert sum("bad signature" in problem for problem in report.problems) == SIZE + 1


def test_the_command_line_exits_0_or_1(export: Export) -> None:
    folder = export.write()
    good = subprocess.run(
        [sys.executable, "-m", "sluice.audit.standalone_verifier", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (good.returncode, good.stdout.strip()) == (0, f"OK: {SIZE} entries, {SIZE + 1} tree heads verified")
    export.lines[3] = (3, "{}")
    export.write()
    assert standalone_verifier.main([str(folder)]) == 1


def test_the_file_runs_alone_where_sluice_cannot_be_imported(export: Export, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "standalone_verifier.py"
    copy.parent.mkdir()
    shutil.copy(standalone_verifier.__file__, copy)
    blocked = "import runpy, sys; sys.modules['sluice'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    run = subprocess.run(
        [sys.executable, "-I", "-c", blocked, str(copy), str(export.write())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OK:")


def test_the_module_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(Path(standalone_verifier.__file__).read_text("utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(str(node.module).split(".")[0])
    assert "sluice" not in imported
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=80))
def test_its_hashing_is_the_merkle_modules(texts: list[str]) -> None:
    builder = standalone_verifier.TreeBuilder()
    for text in texts:
        builder.append(standalone_verifier.leaf_hash(text.encode("utf-8", "surrogatepass")))
    assert builder.root() == merkle.root(text.encode("utf-8", "surrogatepass") for text in texts)


def test_block_hashing_gives_the_same_roots_as_leaf_by_leaf() -> None:
    """The verifier hashes aligned blocks of CHUNK entries level by level; every root must equal RFC 9162's."""
    from sluice.audit import merkle
    from sluice.audit import standalone_verifier as standalone

    entries = [f"entry {n}".encode() for n in range(3 * standalone.CHUNK + 123)]
    builder = standalone.TreeBuilder()
    for start in range(0, len(entries), standalone.CHUNK):
        builder.extend(entries[start : start + standalone.CHUNK])
        assert builder.root() == merkle.root(entries[: builder.size])
    odd = standalone.TreeBuilder()
    odd.extend(entries[:5])
    odd.extend(entries[5 : 5 + standalone.CHUNK])  # not aligned: leaf by leaf
    assert odd.root() == merkle.root(entries[: 5 + standalone.CHUNK])


@given(st.integers(min_value=0, max_value=200_000), st.integers(min_value=0, max_value=5_000))
def test_the_width_of_a_run_of_indexes_is_the_sum_of_their_decimal_lengths(start: int, count: int) -> None:
    assert standalone_verifier._decimal_width(start, start + count) == sum(
        len(str(i)) for i in range(start, start + count)
    )
