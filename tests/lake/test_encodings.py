"""Text encodings: every encoding a clerk's tools produce loads as the same rows; mixed ones are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from sluice.errors import Invalid
from sluice.identity.actor import Actor
from sluice.lake.encoding import detect_and_decode
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, VersionStatus
from sluice.platform import Platform
from tests.lake.conftest import (
    GOOD_IDS,
    RESIDENT_HEADER,
    RESIDENTS,
    assert_serving_unchanged,
    lake_folders,
    make_id,
    read_parquet,
    resident,
    stored_versions,
)

ROWS = [resident(GOOD_IDS[0], "张三"), resident(GOOD_IDS[1], "李四"), resident(GOOD_IDS[2], "欧阳娜娜")]
HEADER_LINE = ",".join(RESIDENT_HEADER) + "\n"


def line(row: dict[str, str]) -> str:
    return ",".join(row[h] for h in RESIDENT_HEADER) + "\n"


@pytest.mark.parametrize(
    ("written_as", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),  # UTF-8 with a byte-order mark (Excel's "CSV UTF-8")
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),  # GB18030 is a superset of GBK: the same bytes, read the same
        ("utf-16", "utf-16"),  # with a byte-order mark (Excel's "Unicode text")
    ],
)
def test_each_encoding_loads_the_same_rows(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, written_as: str, reported: str
) -> None:
    source = tmp_path / "residents.csv"
    source.write_bytes((HEADER_LINE + "".join(line(r) for r in ROWS)).encode(written_as))
    if written_as == "utf-8":
        assert not source.read_bytes().startswith(b"\xef\xbb\xbf")

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.PUBLISHED
    assert version.report is not None
    assert version.report.encoding == reported
    assert version.report.columns == {h: h for h in RESIDENT_HEADER}  # a BOM does not stick to the first name
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    published = read_parquet(data, order_by="id_number")
    assert [(r["id_number"], r["name"], r["address"]) for r in published] == sorted(
        (r["id_number"], r["name"], r["address"]) for r in ROWS
    )


def _many(count: int, **changes: str) -> list[dict[str, str]]:
    """``count`` residents with distinct valid identity numbers: more than the first mebibyte holds."""
    born = [(date(1950, 1, 1) + timedelta(days=k // 1000)).strftime("%Y%m%d") for k in range(count)]
    return [resident(make_id(k % 1000, born[k]), **changes) for k in range(count)]


def test_gb18030_after_a_mebibyte_of_ascii_is_still_found(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    # The reader is trusted with UTF-8 past the first mebibyte; when it meets GB18030 there, the whole check runs.
    plain = _many(16_000, name="Zhang San", address="No. 1 Jianguo Road")
    chinese = [resident(GOOD_IDS[2], "张三")]  # 张 in GBK (D5 C5) is no UTF-8 sequence: the first byte fails
    source = tmp_path / "residents.csv"
    head = (HEADER_LINE + "".join(line(r) for r in plain)).encode("ascii")
    assert len(head) > 1 << 20
    source.write_bytes(head + "".join(line(r) for r in chinese).encode("gb18030"))
    assert not detect_and_decode(source, tmp_path, reader_checks_utf8=True).verified  # the reader must find it

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.report is not None
    assert version.report.encoding == "gb18030"
    assert version.rows == len(plain) + 1
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    assert {r["name"] for r in read_parquet(data)} == {"Zhang San", "张三"}


def test_gbk_past_the_first_mebibyte_of_utf8_is_refused_naming_line_and_byte(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    head = (HEADER_LINE + "".join(line(r) for r in _many(14_000))).encode("utf-8")
    assert len(head) > 1 << 20
    source = tmp_path / "mixed.csv"
    source.write_bytes(head + line(ROWS[1]).encode("gbk"))
    assert not detect_and_decode(source, tmp_path, reader_checks_utf8=True).verified  # the reader must find it
    first_bad = len(head) + len(f"{GOOD_IDS[1]},")

    _refused_without_trace(demo, as_user("psb-admin"), source, 14_002, first_bad, "utf-8")


def test_a_declared_encoding_is_used_as_given(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    source = tmp_path / "residents.csv"
    source.write_bytes((HEADER_LINE + "".join(line(r) for r in ROWS)).encode("gbk"))
    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source, options=IngestOptions(encoding="GBK"))
    assert version.report is not None
    assert version.report.encoding == "gbk"
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    assert {r["name"] for r in read_parquet(data)} == {"张三", "李四", "欧阳娜娜"}


def _refused_without_trace(
    demo: Platform, actor: Actor, source: Path, line_number: int, byte: int, encoding: str
) -> Invalid:
    before = lake_folders(demo)
    with pytest.raises(Invalid) as refused:
        ingest(demo, actor, code=RESIDENTS, source=source)
    error = refused.value
    assert "mixes encodings" in error.message
    assert f"line {line_number}" in error.message
    assert f"byte {byte}" in error.message
    assert error.detail == {"line": line_number, "byte": byte, "encoding": encoding}
    versions = stored_versions(demo, RESIDENTS)
    assert versions[2].status == "failed"  # recorded, with why
    assert versions[2].error == error.message
    assert versions[2].data is None
    assert_serving_unchanged(demo, RESIDENTS, 1)  # the demo's first version still serves
    assert lake_folders(demo) == before  # no staged work, no version folder left behind
    return error


def test_utf8_then_gbk_is_refused_naming_line_and_byte(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    head = HEADER_LINE.encode() + line(ROWS[0]).encode("utf-8")
    gbk_line = line(ROWS[1]).encode("gbk")
    source = tmp_path / "mixed.csv"
    source.write_bytes(head + gbk_line + line(ROWS[2]).encode("utf-8"))
    # The first byte that is not UTF-8: the GBK name of the third line, after its identity number and comma.
    first_bad = len(head) + len(f"{GOOD_IDS[1]},")
    assert source.read_bytes()[first_bad : first_bad + 4] == "李四".encode("gbk")

    _refused_without_trace(demo, as_user("psb-admin"), source, 3, first_bad, "utf-8")


def test_gbk_then_utf8_is_refused_not_read_as_mojibake(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    # UTF-8 Chinese is often valid GB18030 too (张三 reads as 寮犱笁): only a per-line check catches this order.
    utf8_row = resident(GOOD_IDS[2], "张三", address="广州市天河区")
    utf8_line = line(utf8_row).encode("utf-8")
    utf8_line.decode("gb18030")  # the trap: these bytes decode as GB18030 without an error
    head = HEADER_LINE.encode() + line(ROWS[0]).encode("gbk") + line(ROWS[1]).encode("gbk")
    source = tmp_path / "mixed.csv"
    source.write_bytes(head + utf8_line)
    first_utf8 = len(head) + len(f"{GOOD_IDS[2]},")

    _refused_without_trace(demo, as_user("psb-admin"), source, 4, first_utf8, "gb18030")


def test_mixed_encodings_are_named_even_when_the_file_is_also_ragged(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    # The search for UTF-8 lines runs beside DuckDB's read; when both fail, the encodings are what the clerk
    # must fix first (a ragged row may only be a symptom), as when the search ran before the read.
    utf8_line = line(resident(GOOD_IDS[2], "张三", address="广州市天河区")).encode("utf-8")
    head = HEADER_LINE.encode() + line(ROWS[0]).encode("gbk") + "多余,的,列\n".encode("gbk")
    source = tmp_path / "mixed-and-ragged.csv"
    source.write_bytes(head + utf8_line)

    _refused_without_trace(demo, as_user("psb-admin"), source, 4, len(head) + len(f"{GOOD_IDS[2]},"), "gb18030")


def test_a_file_in_no_known_encoding_is_refused_with_where(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    source = tmp_path / "latin.csv"
    source.write_bytes(HEADER_LINE.encode() + line(ROWS[0]).encode("utf-8").replace("张三".encode(), b"\xff\xfe\xff"))
    with pytest.raises(Invalid) as refused:
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)
    assert refused.value.detail["line"] == 2
    assert refused.value.detail["byte"] == len(HEADER_LINE) + len(f"{GOOD_IDS[0]},")
    assert stored_versions(demo, RESIDENTS)[2].status == "failed"


def test_a_deferred_mixing_check_is_handed_to_the_caller_and_refuses_when_run(tmp_path: Path) -> None:
    utf8_line = line(resident(GOOD_IDS[2], "张三", address="广州市天河区")).encode("utf-8")
    source = tmp_path / "mixed.csv"
    source.write_bytes(HEADER_LINE.encode() + line(ROWS[0]).encode("gbk") + utf8_line)
    decoded = detect_and_decode(source, tmp_path, defer_mixing_check=True)  # transcoded, not yet searched
    assert decoded.encoding == "gb18030"
    assert decoded.transcoded
    assert decoded.mixing_check is not None
    with pytest.raises(Invalid, match="mixes encodings") as refused:
        decoded.mixing_check()
    assert refused.value.detail["line"] == 3
    (tmp_path / "again").mkdir()
    with pytest.raises(Invalid, match="mixes encodings"):  # without deferring, the same file is refused at once
        detect_and_decode(source, tmp_path / "again")
    clean = tmp_path / "clean.csv"
    clean.write_bytes(HEADER_LINE.encode() + line(ROWS[0]).encode("gbk"))
    check = detect_and_decode(clean, tmp_path, defer_mixing_check=True).mixing_check
    assert check is not None
    check()  # a GBK file with no UTF-8 line passes
