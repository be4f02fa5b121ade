"""The lake over HTTP: a streamed multipart upload in, the version out; every refusal in the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluice.platform import Platform
from tests.conftest import bearer
from tests.lake.conftest import GOOD_IDS, RESIDENT_HEADER, RESIDENTS, resident, stored_versions, write_csv

URL = f"/api/v1/resources/{RESIDENTS}/versions"
BOUNDARY = "sluiceboundary"


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape: {"error": {"code", "message", "detail"}} and nothing else."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["detail"], dict)
    error: dict[str, Any] = body["error"]
    return error


def uploads_left(demo: Platform) -> list[Path]:
    folder = demo.settings.staging_dir / "uploads"
    return list(folder.iterdir()) if folder.exists() else []


def csv_bytes(tmp_path: Path) -> bytes:
    return write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS]).read_bytes()


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"


def multipart(*parts: bytes, closed: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def test_upload_then_list_and_show(demo: Platform, demo_client: TestClient, tmp_path: Path) -> None:
    headers = bearer(demo, "psb-admin")
    response = demo_client.post(
        URL,
        headers=headers,
        files={"file": ("residents.csv", csv_bytes(tmp_path), "text/csv")},
        data={"mode": "replace", "on_error": "quarantine", "format": "csv", "encoding": "utf-8"},
    )

    assert response.status_code == 201, response.text
    version = response.json()
    assert (version["resource"], version["number"], version["status"], version["serving"]) == (
        RESIDENTS,
        2,
        "published",
        True,
    )
    assert (version["mode"], version["on_error"], version["source_name"], version["rows"]) == (
        "replace",
        "quarantine",
        "residents.csv",
        3,
    )
    assert [f["name"] for f in version["schema"]] == list(RESIDENT_HEADER)
    assert {f["name"]: f["type"] for f in version["schema"]}["birth_date"] == "date"
    report = version["report"]
    assert (report["rows_read"], report["rows_accepted"], report["rules"]) == (3, 3, [])
    assert (report["format"], report["encoding"]) == ("csv", "utf-8")
    assert len(version["digest"]) == 64
    assert uploads_left(demo) == []  # the upload is removed once ingested

    listed = demo_client.get(URL, headers=headers)
    assert listed.status_code == 200
    assert [(v["number"], v["serving"]) for v in listed.json()] == [(2, True), (1, False)]
    shown = demo_client.get(f"{URL}/2", headers=headers)
    assert shown.status_code == 200
    assert shown.json() == version
    assert_error(demo_client.get(f"{URL}/9", headers=headers), 404, "not_found")


def test_another_department_is_refused_before_the_body_is_read(demo: Platform, demo_client: TestClient) -> None:
    read: list[bytes] = []

    def body() -> Iterator[bytes]:
        read.append(b"started")
        yield multipart(part("file", b"id_number\n1\n", "r.csv"))

    for headers in (bearer(demo, "civil-admin"), bearer(demo, "psb-analyst")):
        response = demo_client.post(
            URL, headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, content=body()
        )
        assert_error(response, 403, "forbidden")
    assert read == []
    assert_error(demo_client.post(URL, files={"file": ("r.csv", b"x")}), 401, "unauthenticated")
    assert set(stored_versions(demo, RESIDENTS)) == {1}


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    demo: Platform, demo_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = csv_bytes(tmp_path)
    monkeypatch.setattr(demo.settings, "upload_max_bytes", len(content) - 1)
    headers = bearer(demo, "psb-admin")

    # Counted as it streams in (the declared length is within the slack allowed for form fields)...
    streamed = demo_client.post(URL, headers=headers, files={"file": ("residents.csv", content, "text/csv")})
    error = assert_error(streamed, 413, "too_large")
    assert error["detail"] == {"limit": len(content) - 1}
    # ...or refused at once from the declared length.
    big = content * 40_000
    declared = demo_client.post(URL, headers=headers, files={"file": ("residents.csv", big, "text/csv")})
    assert_error(declared, 413, "too_large")

    assert uploads_left(demo) == []
    assert set(stored_versions(demo, RESIDENTS)) == {1}
    monkeypatch.setattr(demo.settings, "upload_max_bytes", len(content))
    fits = demo_client.post(URL, headers=headers, files={"file": ("residents.csv", content, "text/csv")})
    assert fits.status_code == 201


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/csv", b"id_number\n", "multipart/form-data"),
        ("multipart/form-data", b"--x\r\n", "multipart/form-data"),  # no boundary
        (f"multipart/form-data; boundary={BOUNDARY}", b"\x00\x01 not multipart at all", "malformed"),
        (
            f"multipart/form-data; boundary={BOUNDARY}",
            multipart(part("file", b"id_number,name\n" + GOOD_IDS[0].encode() + b",x\n", "r.csv"), closed=False),
            "before its closing boundary",
        ),
        (f"multipart/form-data; boundary={BOUNDARY}", multipart(part("mode", b"replace")), 'no part named "file"'),
        (
            f"multipart/form-data; boundary={BOUNDARY}",
            multipart(part("file", b"a\n1\n", "a.csv"), part("file", b"b\n2\n", "b.csv")),
            'more than one part named "file"',
        ),
    ],
    ids=["not-multipart", "no-boundary", "garbage", "truncated", "no-file", "two-files"],
)
def test_a_malformed_upload_is_422_in_the_one_error_shape(
    demo: Platform, demo_client: TestClient, content_type: str, body: bytes, message: str
) -> None:
    response = demo_client.post(URL, headers={**bearer(demo, "psb-admin"), "Content-Type": content_type}, content=body)
    error = assert_error(response, 422, "invalid")
    assert message in error["message"]
    assert uploads_left(demo) == []
    assert set(stored_versions(demo, RESIDENTS)) == {1}  # refused before any ingestion began


@pytest.mark.parametrize(
    ("field", "value"),
    [("mode", "sideways"), ("on_error", "ignore"), ("format", "xls"), ("encoding", "latin-1")],
)
def test_a_bad_option_is_422_naming_it(
    demo: Platform, demo_client: TestClient, tmp_path: Path, field: str, value: str
) -> None:
    response = demo_client.post(
        URL,
        headers=bearer(demo, "psb-admin"),
        files={"file": ("residents.csv", csv_bytes(tmp_path), "text/csv")},
        data={field: value},
    )
    error = assert_error(response, 422, "invalid")
    assert error["detail"]["field"] == field
    assert uploads_left(demo) == []
    assert stored_versions(demo, RESIDENTS)[1].status == "published"


def test_a_file_that_cannot_be_read_is_422_and_recorded_as_failed(demo: Platform, demo_client: TestClient) -> None:
    response = demo_client.post(
        URL, headers=bearer(demo, "psb-admin"), files={"file": ("residents.csv", b"", "text/csv")}
    )
    error = assert_error(response, 422, "invalid")
    assert "empty" in error["message"]
    shown = demo_client.get(f"{URL}/2", headers=bearer(demo, "psb-admin")).json()
    assert (shown["status"], shown["error"], shown["serving"]) == ("failed", error["message"], False)
