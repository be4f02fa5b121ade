from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user
from sluice.platform import Platform

RESIDENT_HEADER = ("id_number", "name", "gender", "birth_date", "division_code", "address", "phone")
# Valid resident identity numbers (GB 11643 check characters verified by catalog.standards).
GOOD_IDS = ("11010519491231002X", "110105199003071239", "440305198811110016")


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


@pytest.fixture
def as_user(demo: Platform) -> Callable[[str], Actor]:
    def actor(username: str) -> Actor:
        with demo.reading() as session:
            return actor_for_user(find_user(session, username), via="test")

    return actor
