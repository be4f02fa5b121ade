"""Schema drift: a file whose columns do not line up with the catalog is refused with the precise difference;
an explicit mapping makes it load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluice.errors import Invalid
from sluice.identity.actor import Actor
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import IngestOptions, VersionStatus
from sluice.platform import Platform
from tests.conftest import bearer
from tests.lake.conftest import (
    GOOD_IDS,
    RESIDENT_HEADER,
    RESIDENTS,
    assert_serving_unchanged,
    read_parquet,
    resident,
    stored_versions,
    write_csv,
)

ROWS = [resident(i) for i in GOOD_IDS]


def with_columns(header: list[str], renamed: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The rows, keyed by ``header`` (a renamed column carries its field's value; new ones a note)."""
    back = {new: old for old, new in (renamed or {}).items()}
    return [{h: row.get(back.get(h, h), "note") for h in header} for row in ROWS]


def drift(demo: Platform, actor: Actor, source: Path, options: IngestOptions | None = None) -> Invalid:
    with pytest.raises(Invalid) as refused:
        ingest(demo, actor, code=RESIDENTS, source=source, options=options)
    assert stored_versions(demo, RESIDENTS)[2].status == "failed"
    assert_serving_unchanged(demo, RESIDENTS, 1)
    return refused.value


def test_a_missing_column_is_named(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    header = [h for h in RESIDENT_HEADER if h != "address"]
    error = drift(demo, as_user("psb-admin"), write_csv(tmp_path / "r.csv", with_columns(header), header=header))
    assert error.detail["rule"] == "schema_drift"
    assert (error.detail["missing"], error.detail["extra"], error.detail["renamed"]) == (["address"], [], {})
    assert "missing field(s): address" in error.message


def test_an_extra_column_is_named(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    header = [*RESIDENT_HEADER, "remarks"]
    error = drift(demo, as_user("psb-admin"), write_csv(tmp_path / "r.csv", with_columns(header), header=header))
    assert (error.detail["missing"], error.detail["extra"]) == ([], ["remarks"])
    assert "extra column(s): remarks" in error.message
    assert '{"file column": "field"} (null drops a column)' in error.message  # says how to fix it


def test_a_renamed_column_is_suggested_as_the_rename(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path
) -> None:
    header = [("mobile" if h == "phone" else h) for h in RESIDENT_HEADER]
    rows = with_columns(header, {"phone": "mobile"})
    error = drift(demo, as_user("psb-admin"), write_csv(tmp_path / "r.csv", rows, header=header))
    assert (error.detail["missing"], error.detail["extra"]) == (["phone"], ["mobile"])
    assert error.detail["renamed"] == {"mobile": "phone"}
    assert "perhaps renamed: mobile → phone" in error.message


def test_a_field_given_twice_is_named(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    header = [*RESIDENT_HEADER, "联系电话"]  # the phone by its name and by its Chinese title
    rows = [{**r, "联系电话": r["phone"]} for r in ROWS]
    error = drift(demo, as_user("psb-admin"), write_csv(tmp_path / "r.csv", rows, header=header))
    assert error.detail["doubled"] == ["phone"]


def test_a_mapping_renames_and_drops_columns(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    header = [("mobile" if h == "phone" else h) for h in RESIDENT_HEADER] + ["remarks"]
    source = write_csv(tmp_path / "r.csv", with_columns(header, {"phone": "mobile"}), header=header)

    version = ingest(
        demo,
        as_user("psb-admin"),
        code=RESIDENTS,
        source=source,
        options=IngestOptions(mapping={"mobile": "phone", "remarks": None}),
    )

    assert version.status is VersionStatus.PUBLISHED
    assert version.report is not None
    assert version.report.columns["mobile"] == "phone"
    assert version.report.columns["remarks"] is None
    data = stored_versions(demo, RESIDENTS)[version.number].data
    assert data is not None
    published = read_parquet(data)
    assert list(published[0]) == list(RESIDENT_HEADER)  # the catalog's fields, in its order; no remarks
    assert {r["phone"] for r in published} == {"13800138000"}


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"mobile": "telephone"}, "does not have"),  # no such field
        ({"fax": "phone"}, "that the file does not have"),  # no such column
    ],
)
def test_a_mapping_that_does_not_fit_is_refused(
    demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path, mapping: dict[str, str | None], message: str
) -> None:
    header = [("mobile" if h == "phone" else h) for h in RESIDENT_HEADER]
    source = write_csv(tmp_path / "r.csv", with_columns(header, {"phone": "mobile"}), header=header)
    error = drift(demo, as_user("psb-admin"), source, IngestOptions(mapping=mapping))
    assert message in error.message
    assert error.detail["field"] == "mapping"


def test_the_api_takes_the_mapping_as_json(demo: Platform, demo_client: TestClient, tmp_path: Path) -> None:
    header = [("mobile" if h == "phone" else h) for h in RESIDENT_HEADER] + ["remarks"]
    source = write_csv(tmp_path / "r.csv", with_columns(header, {"phone": "mobile"}), header=header)
    url = f"/api/v1/resources/{RESIDENTS}/versions"
    headers = bearer(demo, "psb-admin")

    refused = demo_client.post(url, headers=headers, files={"file": ("r.csv", source.read_bytes(), "text/csv")})
    assert refused.status_code == 422
    assert refused.json()["error"]["detail"]["renamed"] == {"mobile": "phone"}

    mapping = json.dumps({"mobile": "phone", "remarks": None})
    loaded = demo_client.post(
        url,
        headers=headers,
        files={"file": ("r.csv", source.read_bytes(), "text/csv")},
        data={"mapping": mapping},
    )
    assert loaded.status_code == 201
    body = loaded.json()
    assert body["status"] == "published"
    assert body["report"]["columns"]["mobile"] == "phone"
    assert body["report"]["columns"]["remarks"] is None

    for bad in ("{not json", '["mobile", "phone"]'):
        response = demo_client.post(
            url, headers=headers, files={"file": ("r.csv", source.read_bytes(), "text/csv")}, data={"mapping": bad}
        )
        assert response.status_code == 422
        assert response.json()["error"]["detail"] == {"field": "mapping"}
