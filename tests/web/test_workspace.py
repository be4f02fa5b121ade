"""The departments' workspace over HTTP: apply, answer, countersign, then use the grant from the dataset page;
refusals shown on the form; who sees which forms; reasons rendered inert."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.test_portal import PAGE, csrf_of, sign_in

PURPOSE = "个税专项附加扣除核验"
FIELDS = ["registration_no", "kind", "registered_on"]


def as_user(client: TestClient, username: str) -> TestClient:
    other = TestClient(client.app)
    sign_in(other, username)
    return other


def apply(consumer: TestClient, **changes: object) -> TestClient | str:
    form = consumer.get("/datasets/civil.marriages/apply", headers=PAGE)
    assert form.status_code == 200
    data: dict[str, object] = {
        "csrf": csrf_of(form.text),
        "fields": FIELDS,
        "purpose": PURPOSE,
        "legal_basis": "《中华人民共和国个人所得税法》",
        "until": "2027-06-30",
    } | changes
    filed = consumer.post("/datasets/civil.marriages/apply", data=data, headers=PAGE, follow_redirects=False)
    if filed.status_code != 303:
        return filed.text
    location: str = filed.headers["location"]
    assert re.fullmatch(r"/workspace/applications/\d+", location)
    return location


def post_form(client: TestClient, page: str, action: str, **data: object) -> int:
    shown = client.get(page, headers=PAGE)
    answer = client.post(f"{page}/{action}", data={"csrf": csrf_of(shown.text), **data}, headers=PAGE)
    return answer.status_code


def test_apply_approve_countersign_and_use_the_grant(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    dataset = consumer.get("/datasets/civil.marriages", headers=PAGE).text
    assert "/datasets/civil.marriages/apply" in dataset
    page = apply(consumer)
    assert isinstance(page, str)
    assert page.startswith("/workspace/")
    filed = consumer.get(page, headers=PAGE).text
    assert "等待答复" in filed  # waiting for an answer
    assert "个工作日" in filed  # the deadline counts working days

    provider = as_user(demo_client, "civil-admin")
    queue = provider.get("/workspace/applications?box=to_me", headers=PAGE).text
    assert page in queue
    assert post_form(provider, page, "approve", fields=FIELDS[:2]) == 200  # narrowed to two fields
    assert "等待会签" in provider.get(page, headers=PAGE).text  # important data: waiting for countersignature
    assert 'action="' + page + '/countersign"' not in provider.get(page, headers=PAGE).text

    manager = as_user(demo_client, "manager")
    assert post_form(manager, page, "countersign", reason="") == 200
    shown = consumer.get(page, headers=PAGE).text
    assert "已批准" in shown

    grants = consumer.get("/workspace/grants", headers=PAGE).text
    assert PURPOSE in grants
    offered = re.search(r'action="(/workspace/grants/(\d+))/accept"', grants)
    assert offered, "a narrowed grant waits for the applicant to accept it"
    accepted = consumer.post(f"{offered.group(1)}/accept", data={"csrf": csrf_of(grants), "back": "mine"}, headers=PAGE)
    assert accepted.status_code == 200
    assert "有效" in accepted.text
    used = consumer.get("/datasets/civil.marriages", params={"purpose": PURPOSE}, headers=PAGE).text
    preview = used[used.index('id="preview"') : used.index('id="downloads"')]
    assert re.findall(r'<th scope="col">(\w+)</th>', preview) == FIELDS[:2]  # as narrowed, nothing more


def test_a_refusal_needs_a_reason_and_the_form_says_so(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    page = apply(consumer)
    assert isinstance(page, str)
    provider = as_user(demo_client, "civil-admin")
    shown = provider.get(page, headers=PAGE)
    refused = provider.post(f"{page}/refuse", data={"csrf": csrf_of(shown.text), "reason": "  "}, headers=PAGE)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert "等待答复" in provider.get(page, headers=PAGE).text  # nothing changed


def test_a_bad_application_is_refused_on_its_form_with_what_was_typed_kept(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    answer = apply(consumer, fields=["registration_no", "no_such_field"], until="2027-06-30")
    assert isinstance(answer, str)
    assert not answer.startswith("/workspace/")
    assert "no_such_field" in answer
    assert PURPOSE in answer  # kept
    late = apply(consumer, until="tomorrow")
    assert isinstance(late, str)
    assert "2027-06-30" in late or "日期" in late or "date" in late


def test_only_the_parties_see_the_forms_and_others_are_refused(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    page = apply(consumer)
    assert isinstance(page, str)
    mine = consumer.get(page, headers=PAGE).text
    assert f'action="{page}/approve"' not in mine  # the applicant does not answer its own application
    assert f'action="{page}/withdraw"' in mine
    assert post_form(consumer, page, "approve", fields=FIELDS) == 403
    stranger = as_user(demo_client, "nra-analyst")
    assert stranger.get(page, headers=PAGE).status_code in (403, 404)


def test_the_workspace_asks_the_public_to_sign_in(demo_client: TestClient) -> None:
    answer = demo_client.get("/workspace/applications", headers=PAGE, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/workspace")


def test_reasons_written_by_users_are_rendered_inert(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    hostile = "<script>alert(1)</script>"
    page = apply(consumer, purpose=f"核验 {hostile}")
    assert isinstance(page, str)
    provider = as_user(demo_client, "civil-admin")
    assert post_form(provider, page, "refuse", reason=f"不符合条件 {hostile}") == 200
    for client in (consumer, provider):
        for path in (page, "/workspace/applications?box=mine", "/workspace/applications?box=to_me"):
            html = client.get(path, headers=PAGE).text
            assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in consumer.get(page, headers=PAGE).text


def test_approving_with_no_field_ticked_is_refused_not_taken_as_everything(demo_client: TestClient) -> None:
    consumer = as_user(demo_client, "tax-analyst")
    page = apply(consumer)
    assert isinstance(page, str)
    provider = as_user(demo_client, "civil-admin")
    assert post_form(provider, page, "approve") == 422
    assert "等待答复" in provider.get(page, headers=PAGE).text
