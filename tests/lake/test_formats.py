"""Every accepted format loads the same rows; what a format can smuggle in (types, zip bombs, links) is refused."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sluice.errors import Invalid
from sluice.identity.actor import Actor
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, SourceFormat, VersionStatus
from sluice.platform import Platform
from tests.lake.conftest import (
    GOOD_IDS,
    RESIDENT_HEADER,
    RESIDENT_TITLES_ZH,
    RESIDENTS,
    assert_serving_unchanged,
    lake_folders,
    read_parquet,
    resident,
    stored_versions,
    write_csv,
)

ROWS = [
    resident(GOOD_IDS[0], "张三"),
    resident(GOOD_IDS[1], "李四", phone="13912345678"),
    resident(GOOD_IDS[2], "王五"),
]


def published_rows(platform: Platform, number: int) -> list[tuple[str, str, str, str]]:
    data = stored_versions(platform, RESIDENTS)[number].data
    assert data is not None
    return [(r["id_number"], r["name"], r["division_code"], r["phone"]) for r in read_parquet(data, "id_number")]


EXPECTED = sorted((r["id_number"], r["name"], r["division_code"], r["phone"]) for r in ROWS)


def write_parquet(path: Path, rows: list[dict[str, str]], division_type: pa.DataType | None = None) -> Path:
    columns = {h: [r[h] for r in rows] for h in RESIDENT_HEADER}
    table = pa.table(columns)
    if division_type is not None:
        index = table.column_names.index("division_code")
        table = table.set_column(index, "division_code", table.column("division_code").cast(division_type))
    pq.write_table(table, path)
    return path


def write_ndjson(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def write_tsv(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_csv(path, rows, delimiter="\t")


def write_xlsx(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = RESIDENT_TITLES_ZH) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append([row[h] for h in RESIDENT_HEADER])
    book.save(path)
    return path


WRITERS: dict[str, Callable[[Path, list[dict[str, str]]], Path]] = {
    "tsv": write_tsv,
    "ndjson": write_ndjson,
    "json": write_json,
    "parquet": write_parquet,
    "xlsx": write_xlsx,
}


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_each_format_loads_the_same_rows(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, suffix: str
) -> None:
    source = WRITERS[suffix](tmp_path / f"residents.{suffix}", ROWS)

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.PUBLISHED
    assert version.report is not None
    assert version.report.format == suffix
    assert published_rows(demo, version.number) == EXPECTED
    if suffix == "xlsx":  # a clerk's workbook, headed with the fields' Chinese titles
        assert version.report.columns == dict(zip(RESIDENT_TITLES_ZH, RESIDENT_HEADER, strict=True))


def test_a_declared_format_overrides_the_name(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    source = write_ndjson(tmp_path / "export.dat", ROWS)
    with pytest.raises(Invalid, match="cannot tell the format"):
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)
    version = ingest(
        demo, as_user("psb-admin"), code=RESIDENTS, source=source, options=IngestOptions(format=SourceFormat.NDJSON)
    )
    assert version.status is VersionStatus.PUBLISHED
    assert published_rows(demo, version.number) == EXPECTED


def test_parquet_with_a_number_column_for_a_text_field_is_schema_drift(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    source = write_parquet(tmp_path / "residents.parquet", ROWS, division_type=pa.int64())
    with pytest.raises(Invalid) as refused:
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)
    assert refused.value.detail["rule"] == "schema_drift"
    assert refused.value.detail["retyped"] == {
        "division_code": {"field": "division_code", "file_type": "BIGINT", "field_type": "string"}
    }
    assert "division_code is BIGINT" in refused.value.message
    assert stored_versions(demo, RESIDENTS)[2].status == "failed"
    assert_serving_unchanged(demo, RESIDENTS, 1)


def _refused_workbook(demo: Platform, actor: Actor, source: Path, rule: str) -> Invalid:
    before = lake_folders(demo)
    with pytest.raises(Invalid) as refused:
        ingest(demo, actor, code=RESIDENTS, source=source)
    assert refused.value.detail["rule"] == rule
    assert stored_versions(demo, RESIDENTS)[2].status == "failed"
    assert_serving_unchanged(demo, RESIDENTS, 1)
    assert lake_folders(demo) == before
    return refused.value


def test_an_xlsx_zip_bomb_is_refused_before_it_is_expanded(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    source = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    member = zipfile.ZipFile(source).getinfo("xl/worksheets/sheet1.xml")
    assert member.file_size / member.compress_size > 200  # the case the guard is for

    error = _refused_workbook(demo, as_user("psb-admin"), source, "zip_bomb")
    assert "xl/worksheets/sheet1.xml" in error.message


def test_an_xlsx_over_the_total_size_limit_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_xlsx(tmp_path / "residents.xlsx", ROWS)
    monkeypatch.setattr(demo.settings, "xlsx_max_uncompressed_bytes", 1000)
    _refused_workbook(demo, as_user("psb-admin"), source, "zip_bomb")


def test_an_xlsx_with_external_links_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", ROWS)
    source = tmp_path / "linked.xlsx"
    shutil.copy(good, source)
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("xl/externalLinks/externalLink1.xml", "<externalLink/>")

    _refused_workbook(demo, as_user("psb-admin"), source, "external_links")


def test_an_xlsx_with_macros_is_refused(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    source = tmp_path / "macros.xlsx"
    shutil.copy(write_xlsx(tmp_path / "good.xlsx", ROWS), source)
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"macro")

    _refused_workbook(demo, as_user("psb-admin"), source, "macros")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("residents.xlsx", b"id_number,name\n", "not an Excel workbook"),
        ("residents.parquet", b"id_number,name\n", "not a Parquet file"),
        ("residents.csv", b"PK\x03\x04 a zip file", "binary file"),
    ],
)
def test_a_file_whose_content_contradicts_its_name_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(Invalid, match=message):
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)
    assert_serving_unchanged(demo, RESIDENTS, 1)
