"""The provider's pages over HTTP: register a resource from the form, fix a refused form without losing what was
typed, edit, submit for review, upload a version (with its validation report), decide flagged personal data;
another department refused; markup in titles rendered inert."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_workspace import as_user

CODE = "civil.adoptions"


def registration(csrf: str, **changes: object) -> dict[str, object]:
    return {
        "csrf": csrf,
        "code": CODE,
        "title_zh": "收养登记",
        "title_en": "Adoption registrations",
        "abstract_zh": "收养登记记录",
        "category": "departmental",
        "tags": "收养, 民政",
        "update_cycle": "monthly",
        "contact_name": "民政局 数据科",
        "contact_email": "data@civil.example.gov.cn",
        "sharing_type": "conditional",
        "open_type": "not_open",
        "grade": "general",
        "formats": ["CSV"],
        "field_name": ["registration_no", "adopter_id", "registered_on", ""],
        "field_title_zh": ["登记编号", "收养人身份号码", "登记日期", ""],
        "field_title_en": ["Registration number", "Adopter's identity number", "Registered on", ""],
        "field_type": ["string", "string", "date", "string"],
        "field_element": ["", "resident_id", "", ""],
        "field_sensitivity": ["none", "sensitive", "none", "none"],
        "field_nullable": ["2"],
        "field_key": ["0"],
    } | changes


def register(provider: TestClient, **changes: object) -> tuple[int, str, str]:
    form = provider.get("/workspace/resources/new", headers=PAGE)
    assert form.status_code == 200
    sent = provider.post(
        "/workspace/resources/new",
        data=registration(csrf_of(form.text), **changes),
        headers=PAGE,
        follow_redirects=False,
    )
    return sent.status_code, sent.headers.get("location", ""), sent.text


def test_register_edit_submit_and_the_manager_sees_it(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    mine = provider.get("/workspace/resources", headers=PAGE).text
    assert "civil.marriages" in mine  # the department's existing resources

    status, location, _ = register(provider)
    assert (status, location) == (303, f"/workspace/resources/{CODE}?registered=1")
    page = provider.get(location, headers=PAGE).text
    assert "草稿" in page  # a draft
    assert f'action="/workspace/resources/{CODE}/submit"' in page

    edit = provider.get(f"/workspace/resources/{CODE}/edit", headers=PAGE).text
    assert 'value="adopter_id"' in edit
    assert 'value="收养登记"' in edit
    assert re.search(r'name="field_key" value="0"[^>]*checked', edit)
    assert not re.search(r'name="field_nullable" value="0"[^>]*checked', edit)  # the key may not be empty
    saved = provider.post(
        f"/workspace/resources/{CODE}/edit",
        data=registration(csrf_of(edit), title_en="Adoption registers", code=""),
        headers=PAGE,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Adoption registers" in provider.get(f"/workspace/resources/{CODE}?lang=en", headers=PAGE).text

    shown = provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text
    submitted = provider.post(
        f"/workspace/resources/{CODE}/submit", data={"csrf": csrf_of(shown)}, headers=PAGE, follow_redirects=False
    )
    assert submitted.status_code == 303
    assert "待审核" in provider.get(f"/workspace/resources/{CODE}?lang=zh-CN", headers=PAGE).text

    manager = as_user(demo_client, "manager")
    assert CODE in manager.get("/manage/reviews", headers=PAGE).text


def test_a_refused_registration_keeps_what_was_typed(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    status, _, text = register(provider, field_name=["registration_no", "Bad Name!", "registered_on", ""])
    assert status == 422
    assert "Bad Name!" in text
    assert "not a valid field name" in text
    assert 'value="收养登记"' in text

    status, _, text = register(provider, sharing_type="not_shared", legal_basis="")
    assert status == 422
    assert "legal basis" in text.lower() or "法律依据" in text

    status, _, text = register(provider, more="1")
    assert status == 200  # more rows: nothing saved
    assert text.count('name="field_name"') == 3 + 6
    assert provider.get(f"/workspace/resources/{CODE}", headers=PAGE).status_code == 404


def test_a_resource_with_many_fields_is_registered_from_the_form(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    names = [f"item_{i}" for i in range(300)]
    status, location, text = register(
        provider,
        field_name=names,
        field_title_zh=[f"项目{i}" for i in range(300)],
        field_title_en=[f"Item {i}" for i in range(300)],
        field_type=["string"] * 300,
        field_element=[""] * 300,
        field_sensitivity=["none"] * 300,
        field_nullable=[str(i) for i in range(1, 300)],
        field_key=["0"],
    )
    assert (status, location) == (303, f"/workspace/resources/{CODE}?registered=1"), text[:300]
    edit = provider.get(f"/workspace/resources/{CODE}/edit", headers=PAGE).text
    assert edit.count('name="field_name"') == 300 + 3


def test_upload_a_version_and_read_its_report(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    register(provider)
    page = provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text
    assert 'enctype="multipart/form-data"' in page
    body = (
        "registration_no,adopter_id,registered_on\nA1,11010519491231002X,2024-01-02\nA2,110105194912310021,2024-01-03\n"
    )
    sent = provider.post(
        f"/workspace/resources/{CODE}/versions",
        data={"csrf": csrf_of(page), "mode": "replace", "on_error": "quarantine"},
        files={"file": ("adoptions.csv", body.encode(), "text/csv")},
        headers=PAGE,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/workspace/resources/{CODE}/versions/1"
    report = provider.get(sent.headers["location"] + "?lang=en", headers=PAGE).text
    assert "2 records read, 1 accepted, 1 quarantined" in report
    assert "110105194912310021" not in report  # the wrong identity number is shown masked (personal field)
    assert "adoptions.csv" in provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text


def test_upload_refusals_lose_nothing(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    register(provider)
    page = provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text
    csrf = csrf_of(page)
    forged = provider.post(
        f"/workspace/resources/{CODE}/versions",
        data={"csrf": "forged"},
        files={"file": ("a.csv", b"registration_no\nA1\n", "text/csv")},
        headers=PAGE,
    )
    assert forged.status_code == 403
    offsite = provider.post(
        f"/workspace/resources/{CODE}/versions",
        data={"csrf": csrf},
        files={"file": ("a.csv", b"registration_no\nA1\n", "text/csv")},
        headers=PAGE | {"Origin": "https://evil.example"},
    )
    assert offsite.status_code == 403
    drifted = provider.post(
        f"/workspace/resources/{CODE}/versions",
        data={"csrf": csrf},
        files={"file": ("a.csv", b"number,who\nA1,x\n", "text/csv")},
        headers=PAGE,
    )
    assert drifted.status_code == 422
    assert "registration_no" in drifted.text  # the schema diff names the missing field
    versions = provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text
    assert "status-failed" in versions
    assert "status-published" not in versions
    # no staged upload left behind
    staging = demo_client.app.state.platform.settings.staging_dir / "uploads"  # type: ignore[attr-defined]
    assert not staging.exists() or not any(staging.iterdir())

    other = as_user(demo_client, "tax-admin")
    refused = other.get(f"/workspace/resources/{CODE}", headers=PAGE)
    assert refused.status_code == 403
    theirs = other.get("/workspace/resources", headers=PAGE).text
    assert CODE not in theirs


def test_titles_are_rendered_inert(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    status, location, _ = register(provider, title_zh=attack, title_en=attack)
    assert status == 303
    for path in (location, "/workspace/resources", f"/workspace/resources/{CODE}/edit"):
        text = provider.get(path, headers=PAGE).text
        assert attack not in text
        assert "&lt;script&gt;" in text
