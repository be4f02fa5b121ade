"""The validation report (counts, examples with row and line, masking) and the shape of the published file."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from sluice.identity.actor import Actor
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, OnError, VersionStatus
from sluice.lake.validation import mask
from sluice.platform import Platform
from sluice.settings import Settings
from tests.lake.conftest import (
    GOOD_IDS,
    HOTLINE_HEADER,
    RESIDENTS,
    hotline,
    make_id,
    read_parquet,
    resident,
    stored_versions,
    write_csv,
)


def test_the_report_counts_each_rule_and_shows_twenty_examples_masked(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    rows = [resident(make_id(n), phone="1234567") for n in range(25)]  # 25 × element (mobile number)
    rows[3]["birth_date"] = "1990-13-45"  # not a date (rule "type")
    rows[4]["name"] = ""  # rule "required"
    rows[5]["division_code"] = "999999"  # element; division_code is not personal: shown as it is
    rows.append(resident(make_id(3)))  # unique: the same key as row 4
    source = write_csv(tmp_path / "residents.csv", rows)

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.REJECTED
    report = version.report
    assert report is not None
    by_rule = {(r.rule, r.field): r for r in report.rules}
    assert {key: r.count for key, r in by_rule.items()} == {
        ("element", "phone"): 25,
        ("type", "birth_date"): 1,
        ("required", "name"): 1,
        ("element", "division_code"): 1,
        ("unique", "id_number"): 2,
    }
    phones = by_rule["element", "phone"]
    assert len(phones.examples) == 20
    assert [(e.row, e.line) for e in phones.examples] == [(n, n + 1) for n in range(1, 21)]
    assert {e.value for e in phones.examples} == {mask("1234567")} == {"1*****7"}
    date_example = by_rule["type", "birth_date"].examples[0]
    assert (date_example.row, date_example.line, date_example.value) == (4, 5, mask("1990-13-45"))
    assert by_rule["required", "name"].examples[0].value is None
    assert by_rule["element", "division_code"].examples[0].value == "999999"
    duplicates = by_rule["unique", "id_number"].examples
    assert [e.row for e in duplicates] == [4, 26]
    assert {e.value for e in duplicates} == {mask(make_id(3))}
    # No personal value appears anywhere in the report as it was uploaded.
    text = report.model_dump_json()
    assert "1990-13-45" not in text
    assert make_id(3) not in text
    assert "1234567" not in text


def test_leading_zeros_and_digits_are_kept_as_text(
    demo: Platform, as_user: Callable[[str], Actor], hotlines: str, tmp_path: Path
) -> None:
    rows = [hotline("001", "01012345678", "010010"), hotline("002", "02087654321", "000100")]
    source = write_csv(tmp_path / "hotlines.csv", rows, header=HOTLINE_HEADER)

    version = ingest(demo, as_user("psb-admin"), code=hotlines, source=source)

    assert version.status is VersionStatus.PUBLISHED
    data = stored_versions(demo, hotlines)[version.number].data
    assert data is not None
    assert [(r["line_id"], r["division_code"], r["number"], r["postcode"]) for r in read_parquet(data)] == [
        ("001", "110105", "01012345678", "010010"),
        ("002", "110105", "02087654321", "000100"),
    ]
    schema = pq.read_schema(data)
    assert {name: str(schema.field(name).type) for name in HOTLINE_HEADER} == dict.fromkeys(HOTLINE_HEADER, "string")


def many_residents(count: int) -> list[dict[str, str]]:
    rows = [
        resident(make_id(n % 1000, born=f"{date(1950, 1, 1) + timedelta(days=n // 1000):%Y%m%d}"), name="张三")
        for n in range(count)
    ]
    random.Random(4).shuffle(rows)  # the file is in no order; the version is in key order
    return rows


def test_the_version_is_written_in_row_groups_sorted_by_the_key(
    demo: Platform,
    as_user: Callable[[str], Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo.settings, "row_group_rows", 2048)
    rows = many_residents(5 * 2048)
    source = write_csv(tmp_path / "residents.csv", rows)

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.PUBLISHED
    assert version.rows == 5 * 2048
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    parquet = pq.ParquetFile(data)
    assert parquet.metadata.num_row_groups == 5
    assert [parquet.metadata.row_group(i).num_rows for i in range(5)] == [2048] * 5
    in_file_order = parquet.read(columns=["id_number"]).column("id_number").to_pylist()
    assert in_file_order == sorted(r["id_number"] for r in rows)
    con = duckdb.connect()
    bounds = con.execute(
        "SELECT stats_min_value, stats_max_value FROM parquet_metadata(?) WHERE path_in_schema = 'id_number' "
        "ORDER BY row_group_id",
        [str(data)],
    ).fetchall()
    assert all(bounds[i][1] < bounds[i + 1][0] for i in range(4))  # each group a disjoint key range
    assert version.profile is not None
    profiled = {c.field: c for c in version.profile.columns}
    assert (profiled["id_number"].min, profiled["id_number"].top) == (None, [])  # personal: counts only
    assert profiled["division_code"].min == profiled["division_code"].max == "110105"


def test_row_groups_below_duckdbs_vector_size_are_refused_by_the_settings() -> None:
    """DuckDB writes row groups of at least 2048 rows (its vector size): a smaller setting could not be kept."""
    with pytest.raises(ValidationError, match="greater than or equal to 2048"):
        Settings(row_group_rows=1000)
    assert Settings(row_group_rows=2048).row_group_rows == 2048


def test_quarantined_rows_are_kept_apart_with_the_rules_they_broke(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    rows = [resident(GOOD_IDS[0]), resident(GOOD_IDS[1], phone="123"), resident(GOOD_IDS[2], gender="7")]
    source = write_csv(tmp_path / "residents.csv", rows)

    version = ingest(
        demo, as_user("psb-admin"), code=RESIDENTS, source=source, options=IngestOptions(on_error=OnError.QUARANTINE)
    )

    assert version.status is VersionStatus.PUBLISHED
    assert version.report is not None
    assert (version.report.rows_accepted, version.report.rows_quarantined) == (1, 2)
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    assert [r["id_number"] for r in read_parquet(data)] == [GOOD_IDS[0]]
    quarantined = read_parquet(data.parent / "quarantine.parquet", "_row")
    assert [(r["_row"], r["phone"], r["gender"]) for r in quarantined] == [(2, "123", "1"), (3, "13800138000", "7")]
    assert [len(r["_broken"]) for r in quarantined] == [1, 1]
