from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from sluice.catalog import service as catalog
from sluice.catalog.models import Resource
from sluice.catalog.schemas import FieldSpec, ReviewDecision
from sluice.catalog.standards import resident_id_check_character
from sluice.catalog.vocab import OpenType
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.lake.models import Version
from sluice.lake.queries import serving_version
from sluice.lake.storage import DATA_FILE
from sluice.platform import Platform
from tests.catalog.conftest import draft

RESIDENTS = "psb.residents"
RESIDENT_HEADER = ("id_number", "name", "gender", "birth_date", "division_code", "address", "phone")
# Titles of the residents' fields in the catalog, as a clerk's spreadsheet would head its columns.
RESIDENT_TITLES_ZH = ("公民身份号码", "姓名", "性别", "出生日期", "户籍所在地行政区划", "住址", "联系电话")
# Valid resident identity numbers (GB 11643 check characters verified by catalog.standards).
GOOD_IDS = ("11010519491231002X", "110105199003071239", "440305198811110016")
BAD_ID = "110105199003071230"  # GOOD_IDS[1] with a wrong check character

HOTLINES = "psb.hotlines"
HOTLINE_HEADER = ("line_id", "division_code", "number", "postcode")


def make_id(seq: int, born: str = "19900101", region: str = "110105") -> str:
    """A valid resident identity number, distinct for each ``seq`` (0-999) and birth date."""
    first17 = f"{region}{born}{seq:03d}"
    return first17 + resident_id_check_character(first17)


def resident(id_number: str, name: str = "张三", **changes: str) -> dict[str, str]:
    row = {
        "id_number": id_number,
        "name": name,
        "gender": "1",
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "division_code": id_number[:6],
        "address": "北京市朝阳区建国路1号",
        "phone": "13800138000",
    }
    row.update(changes)
    return row


def write_csv(
    path: Path,
    rows: Sequence[dict[str, str]],
    header: Sequence[str] = RESIDENT_HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return path


@dataclass(frozen=True)
class Stored:
    """A version as the metadata database records it, with where its data file is (if anywhere)."""

    number: int
    status: str
    data: Path | None
    error: str | None


def stored_versions(platform: Platform, code: str) -> dict[int, Stored]:
    with platform.reading() as session:
        resource = session.scalars(select(Resource).where(Resource.code == code)).one()
        rows = session.scalars(select(Version).where(Version.resource_id == resource.id)).all()
        return {
            v.number: Stored(
                v.number, v.status, platform.settings.lake_dir / v.path / DATA_FILE if v.path else None, v.error
            )
            for v in rows
        }


def serving_number(platform: Platform, code: str) -> int | None:
    with platform.reading() as session:
        resource = session.scalars(select(Resource).where(Resource.code == code)).one()
        current = serving_version(session, resource.id)
        return current.number if current else None


def read_parquet(path: Path, order_by: str | None = None) -> list[dict[str, Any]]:
    """A Parquet file's rows, sorted by ``order_by`` (default: its first column)."""
    table = pq.read_table(path)
    key = order_by or table.column_names[0]
    return sorted(table.to_pylist(), key=lambda row: row[key])


def lake_folders(platform: Platform) -> set[str]:
    """Every version folder and staged work item under the lake (relative paths)."""
    lake = platform.settings.lake_dir
    found = {p.relative_to(lake).as_posix() for p in lake.glob("[!.]*/*/v*")}
    found |= {p.relative_to(lake).as_posix() for p in (lake / ".staging").glob("*")}
    found |= {p.relative_to(lake).as_posix() for p in (lake / ".staging" / "uploads").glob("*")}
    return found


def assert_serving_unchanged(platform: Platform, code: str, number: int) -> None:
    """Version ``number`` still serves ``code`` and its data file is still there."""
    assert serving_number(platform, code) == number
    data = stored_versions(platform, code)[number].data
    assert data is not None
    assert data.is_file()


@pytest.fixture
def as_user(demo: Platform) -> Callable[[str], Actor]:
    def actor(username: str) -> Actor:
        with demo.reading() as session:
            return actor_for_user(find_user(session, username), via="test")

    return actor


def register(
    platform: Platform, actor: Callable[[str], Actor], code: str, fields: list[FieldSpec], **changes: Any
) -> str:
    """Register, submit and publish a resource of the demo government (as its provider and the manager)."""
    provider = actor(f"{code.split('.', 1)[0]}-admin")
    with platform.transaction() as session:
        catalog.register_resource(session, provider, data=draft(code, fields=fields, **changes))
        catalog.submit_resource(session, provider, code=code)
        catalog.review_resource(session, actor("manager"), code=code, decision=ReviewDecision(decision="publish"))
    return code


@pytest.fixture
def hotlines(demo: Platform, as_user: Callable[[str], Actor]) -> str:
    """psb.hotlines: a resource whose text fields the catalog declares not personal (sensitivity none)."""
    fields = [
        FieldSpec(name="line_id", title_zh="线路编号", title_en="Line id", primary_key=True, nullable=False),
        FieldSpec(name="division_code", title_zh="行政区划", title_en="Division", data_element="division_code"),
        FieldSpec(name="number", title_zh="号码", title_en="Number"),
        FieldSpec(name="postcode", title_zh="邮政编码", title_en="Postcode"),
    ]
    return register(demo, as_user, HOTLINES, fields, open_type=OpenType.NOT_OPEN)


def hotline(line_id: str, number: str, postcode: str = "010010", division_code: str = "110105") -> dict[str, str]:
    return {"line_id": line_id, "division_code": division_code, "number": number, "postcode": postcode}
