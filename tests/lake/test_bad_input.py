"""Files that cannot be loaded as they are: each refused with what is wrong and where, nothing published."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.vocab import FieldType
from sluice.errors import Forbidden, Invalid, TooLarge
from sluice.identity.actor import Actor
from sluice.lake import validation
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, OnError, VersionStatus
from sluice.lake.storage import QUARANTINE_FILE
from sluice.platform import Platform
from tests.lake.conftest import (
    BAD_ID,
    GOOD_IDS,
    RESIDENT_HEADER,
    RESIDENTS,
    assert_serving_unchanged,
    lake_folders,
    read_parquet,
    resident,
    stored_versions,
    write_csv,
)


def csv_text(records: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(RESIDENT_HEADER), *records])
    return out.getvalue()


def fields_of(row: dict[str, str]) -> list[str]:
    return [row[h] for h in RESIDENT_HEADER]


def refused(demo: Platform, actor: Actor, source: Path, options: IngestOptions | None = None) -> Invalid:
    """Ingest ``source`` expecting a refusal; check it left the previous version serving and nothing behind."""
    before = lake_folders(demo)
    with pytest.raises(Invalid) as caught:
        ingest(demo, actor, code=RESIDENTS, source=source, options=options)
    newest = max(stored_versions(demo, RESIDENTS).values(), key=lambda v: v.number)
    assert newest.number == 2
    assert newest.status == "failed"
    assert newest.error == caught.value.message
    assert_serving_unchanged(demo, RESIDENTS, 1)
    assert lake_folders(demo) == before
    return caught.value


def test_an_empty_file_is_refused(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    error = refused(demo, as_user("psb-admin"), source)
    assert "empty" in error.message


@pytest.mark.parametrize("ending", ["\n", "", "\r\n"])
def test_a_header_without_rows_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, ending: str
) -> None:
    source = tmp_path / "header.csv"
    source.write_bytes((",".join(RESIDENT_HEADER) + ending).encode())
    error = refused(demo, as_user("psb-admin"), source)
    assert "no rows" in error.message


def test_ragged_rows_are_refused_with_their_lines(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    good = [fields_of(resident(i)) for i in GOOD_IDS]
    text = csv_text([good[0], [*good[1], "extra"], good[2], ["a", "b"]])
    source = tmp_path / "ragged.csv"
    source.write_text(text, encoding="utf-8")

    error = refused(demo, as_user("psb-admin"), source)

    assert error.detail["rule"] == "parse"
    examples = error.detail["examples"]
    assert [(e["line"], e["error"]) for e in examples] == [(3, "TOO MANY COLUMNS"), (5, "MISSING COLUMNS")]
    assert examples[1]["text"] == "a,b"
    assert error.message.startswith("2 line(s) cannot be read as records of 7 columns (first at lines 3, 5)")


def test_ragged_rows_after_a_value_with_line_breaks_are_placed_on_their_real_lines(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    spread = resident(GOOD_IDS[0], address='第一行\n第二行 "引号", 逗号\n第三行')  # record 1: lines 2-4
    text = csv_text([fields_of(spread), fields_of(resident(GOOD_IDS[1])), ["a", "b", "c"]])
    source = tmp_path / "ragged.csv"
    source.write_text(text, encoding="utf-8")
    assert text.splitlines()[5] == "a,b,c"  # line 6 of the file

    error = refused(demo, as_user("psb-admin"), source)
    assert [e["line"] for e in error.detail["examples"]] == [6]


def test_values_with_line_breaks_and_quotes_load_and_later_lines_are_right(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    address = '北京市朝阳区\n建国路1号 "东门", 2层\r\n201室'
    rows = [resident(GOOD_IDS[0], address=address), resident(GOOD_IDS[1]), resident(BAD_ID), resident(GOOD_IDS[2])]
    text = csv_text([fields_of(r) for r in rows])
    source = tmp_path / "multiline.csv"
    source.write_text(text, encoding="utf-8")
    bad_line = next(i for i, line in enumerate(text.split("\n"), start=1) if line.startswith(BAD_ID))
    assert bad_line == 6  # header, record 1 on lines 2-4, record 2, then the bad record

    version = ingest(
        demo,
        as_user("psb-admin"),
        code=RESIDENTS,
        source=source,
        options=IngestOptions(on_error=OnError.QUARANTINE),
    )

    assert version.report is not None
    [rule] = version.report.rules
    assert [(e.row, e.line) for e in rule.examples] == [(3, bad_line)]
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    kept = {r["id_number"]: r["address"] for r in read_parquet(data)}
    assert kept[GOOD_IDS[0]] == address  # quotes, commas and both kinds of line break kept as they were
    assert set(kept) == set(GOOD_IDS)


def test_ndjson_lines_are_records_even_when_values_hold_line_breaks(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    rows = [resident(GOOD_IDS[0], address="第一行\n第二行\n第三行"), resident(GOOD_IDS[1]), resident(BAD_ID)]
    source = tmp_path / "residents.ndjson"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.REJECTED
    assert version.report is not None
    assert [(e.row, e.line) for e in version.report.rules[0].examples] == [(3, 3)]


def test_duplicate_keys_reject_the_version(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    rows = [resident(GOOD_IDS[0]), resident(GOOD_IDS[1]), resident(GOOD_IDS[0], "王五")]
    source = write_csv(tmp_path / "dups.csv", rows)

    version = ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert version.status is VersionStatus.REJECTED
    assert not version.serving
    assert version.report is not None
    assert version.report.rows_accepted == 0
    [rule] = version.report.rules
    assert (rule.rule, rule.field, rule.count) == ("unique", "id_number", 2)
    assert [(e.row, e.line) for e in rule.examples] == [(1, 2), (3, 4)]
    assert stored_versions(demo, RESIDENTS)[version.number].data is None
    assert_serving_unchanged(demo, RESIDENTS, 1)


def test_duplicate_keys_are_both_quarantined_and_the_rest_published(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    rows = [resident(GOOD_IDS[0]), resident(GOOD_IDS[1]), resident(GOOD_IDS[0], "王五"), resident(GOOD_IDS[2])]
    source = write_csv(tmp_path / "dups.csv", rows)

    version = ingest(
        demo, as_user("psb-admin"), code=RESIDENTS, source=source, options=IngestOptions(on_error=OnError.QUARANTINE)
    )

    assert version.status is VersionStatus.PUBLISHED
    assert version.serving
    assert version.report is not None
    assert (version.report.rows_read, version.report.rows_accepted, version.report.rows_quarantined) == (4, 2, 2)
    assert version.rows == 2
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    assert sorted(r["id_number"] for r in read_parquet(data)) == sorted([GOOD_IDS[1], GOOD_IDS[2]])
    quarantined = read_parquet(data.parent / QUARANTINE_FILE, "_row")
    assert [(r["_row"], r["name"], list(r["_broken"])) for r in quarantined] == [
        (1, "张三", ["unique_file"]),
        (3, "王五", ["unique_file"]),
    ]


def test_the_file_of_another_resource_is_named_as_such(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    header = ("payment_id", "credit_code", "tax_type", "period", "amount", "paid_on")
    row = dict(zip(header, ("P1", "91110000100000000A", "VAT", "2026-10", "100.00", "2026-11-01"), strict=True))
    source = write_csv(tmp_path / "payments.csv", [row], header=header)

    error = refused(demo, as_user("psb-admin"), source)

    assert "none of the file's columns match the fields of psb.residents" in error.message
    assert "another resource" in error.message
    assert error.detail["extra"] == list(header)
    assert error.detail["missing"] == list(RESIDENT_HEADER)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("id_number,name,name,gender,birth_date,division_code,address,phone", {"columns": ["name"]}),
        ("id_number,,gender,birth_date,division_code,address,phone", {"columns": [2]}),
    ],
)
def test_a_header_with_a_doubled_or_blank_name_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, header: str, detail: dict[str, object]
) -> None:
    source = tmp_path / "header.csv"
    source.write_text(header + "\n" + ",".join(["x"] * (header.count(",") + 1)) + "\n", encoding="utf-8")
    error = refused(demo, as_user("psb-admin"), source)
    assert error.detail == detail


def test_another_department_may_not_load_the_data(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS])
    for username in ("civil-admin", "psb-analyst", "manager"):  # another provider; a consumer; the manager
        with pytest.raises(Forbidden):
            ingest(demo, as_user(username), code=RESIDENTS, source=source)
    assert set(stored_versions(demo, RESIDENTS)) == {1}  # not even a failed version is recorded
    assert_serving_unchanged(demo, RESIDENTS, 1)


def test_a_file_over_the_size_limit_is_refused_before_any_work(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS])
    monkeypatch.setattr(demo.settings, "upload_max_bytes", source.stat().st_size - 1)
    before = lake_folders(demo)

    with pytest.raises(TooLarge) as caught:
        ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source)

    assert caught.value.detail == {"limit": source.stat().st_size - 1, "size": source.stat().st_size}
    assert set(stored_versions(demo, RESIDENTS)) == {1}
    assert lake_folders(demo) == before
    monkeypatch.setattr(demo.settings, "upload_max_bytes", source.stat().st_size)
    assert ingest(demo, as_user("psb-admin"), code=RESIDENTS, source=source).status is VersionStatus.PUBLISHED


@pytest.mark.parametrize(
    ("field_type", "values", "duplicated"),
    [
        (FieldType.INTEGER, ["1", "01", " 1", "2", "3"], [1, 2, 3]),  # "01" and " 1" are the integer 1 too
        (FieldType.DECIMAL, ["1.5", "1.50", "2"], [1, 2]),
        (FieldType.DATE, ["2024-01-05", "2024-01-06", " 2024-01-05 "], [1, 3]),
        (FieldType.STRING, ["a", "A", "a "], []),  # text keys are compared as written
    ],
)
def test_a_key_is_unique_as_the_value_it_becomes_not_as_its_text(
    field_type: FieldType, values: list[str], duplicated: list[int]
) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE staged (code VARCHAR)")
    con.executemany("INSERT INTO staged VALUES (?)", [[v] for v in values])
    key = FieldSpec(name="code", title_zh="代码", title_en="Code", type=field_type, primary_key=True)
    rules = validation.check(con, [key], {"code": "code"}, {}, None)
    assert "unique_file" in [rule.flag for rule in rules]
    flagged = con.execute(f"SELECT {validation.ROW} FROM {validation.CHECKED} WHERE unique_file ORDER BY 1").fetchall()
    assert [row[0] for row in flagged] == duplicated
