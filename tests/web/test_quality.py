"""Data quality in the portal: the public's feedback (sent without an account, answered by the department,
markup inert), data objections raised from a dataset page and answered, the inbox, versions held for flagged
personal data (decided by the provider, listed for the manager), the two-person rule said on the review page,
and the operator's ingestion jobs and engines."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sluice.catalog import service as catalog
from sluice.catalog.schemas import ResourceDescription
from sluice.platform import Platform
from tests.conftest import SYSTEM
from tests.objections.test_objections import a_resident
from tests.sharing.conftest import as_
from tests.web.test_managing import submit
from tests.web.test_portal import PAGE, csrf_of
from tests.web.test_resources import CODE, register
from tests.web.test_workspace import as_user

OPEN = "psb.population_stats"
ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_the_public_sends_feedback_and_the_department_answers(demo_client: TestClient) -> None:
    public = TestClient(demo_client.app)
    page = public.get(f"/datasets/{OPEN}", headers=PAGE)
    assert 'action="/datasets/psb.population_stats/feedback"' in page.text
    too_short = public.post(
        f"/datasets/{OPEN}/feedback", data={"csrf": csrf_of(page.text), "message": "x"}, headers=PAGE
    )
    assert too_short.status_code == 422
    assert 'role="alert"' in too_short.text
    sent = public.post(
        f"/datasets/{OPEN}/feedback",
        data={"csrf": csrf_of(page.text), "kind": "error", "message": ATTACK, "contact": "zhang@example.com"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    number = re.fullmatch(r"/datasets/psb\.population_stats\?feedback=(\d+)#feedback", sent.headers["location"])
    assert number
    thanked = public.get(sent.headers["location"], headers=PAGE).text
    assert f"参考编号 {number.group(1)}" in thanked or f"reference number {number.group(1)}" in thanked
    assert ATTACK not in thanked

    provider = as_user(demo_client, "psb-admin")
    listed = provider.get("/workspace/feedback", headers=PAGE).text
    assert "zhang@example.com" in listed
    assert ATTACK not in listed
    assert "&lt;script&gt;alert(" in listed
    answered = provider.post(
        f"/workspace/feedback/{number.group(1)}/answer",
        data={"csrf": csrf_of(listed), "answer": "已核对并更正"},
        headers=PAGE,
    )
    assert answered.status_code == 200
    assert "已核对并更正" in answered.text
    inbox = provider.get("/workspace/inbox", headers=PAGE).text
    assert 'href="/workspace/feedback"' in inbox

    manager = as_user(demo_client, "manager")
    everything = manager.get("/workspace/feedback?box=all", headers=PAGE).text
    assert "已核对并更正" in everything
    assert "zhang@example.com" not in everything  # the sender's contact is for the department only


def test_feedback_forged_from_another_site_is_refused(demo_client: TestClient) -> None:
    page = demo_client.get(f"/datasets/{OPEN}", headers=PAGE).text
    forged = demo_client.post(
        f"/datasets/{OPEN}/feedback",
        data={"csrf": csrf_of(page), "message": "一条伪造的反馈"},
        headers=PAGE | {"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403


def test_the_dataset_page_shows_its_counters(demo_client: TestClient) -> None:
    first = demo_client.get(f"/datasets/{OPEN}?lang=en", headers=PAGE).text
    views = int(re.search(r"(\d+) views?", first).group(1))  # type: ignore[union-attr]
    again = demo_client.get(f"/datasets/{OPEN}?lang=en", headers=PAGE).text
    assert f"{views + 1} view" in again
    assert re.search(r"\d+ downloads?", again)
    assert re.search(r"[\d,]+ API calls?", again)


def test_an_objection_raised_from_the_dataset_page_is_answered(demo: Platform, demo_client: TestClient) -> None:
    person = a_resident(demo)
    consumer = as_user(demo_client, "civil-analyst")
    dataset = consumer.get("/datasets/psb.residents", headers=PAGE).text
    assert 'href="/datasets/psb.residents/object"' in dataset
    form = consumer.get("/datasets/psb.residents/object", headers=PAGE).text
    assert 'name="key_id_number"' in form
    refused = consumer.post(
        "/datasets/psb.residents/object",
        data={
            "csrf": csrf_of(form),
            "key_id_number": person["id_number"],
            "field": "phone",
            "evidence": "婚姻登记时的登记材料",
        },
        headers=PAGE,
    )
    assert refused.status_code == 403  # phone was never granted to civil
    assert "granted in clear" in refused.text
    assert person["id_number"] in refused.text  # what was typed is kept
    raised = consumer.post(
        "/datasets/psb.residents/object",
        data={
            "csrf": csrf_of(form),
            "key_id_number": person["id_number"],
            "field": "gender",
            "claimed_value": "2",
            "evidence": ATTACK,
        },
        headers=PAGE,
        follow_redirects=False,
    )
    assert raised.status_code == 303
    page = raised.headers["location"]
    assert re.fullmatch(r"/workspace/objections/\d+", page)
    assert page in consumer.get("/workspace/objections?box=mine", headers=PAGE).text

    provider = as_user(demo_client, "psb-admin")
    assert page in provider.get("/workspace/objections?box=to_me", headers=PAGE).text
    shown = provider.get(page, headers=PAGE).text
    assert ATTACK not in shown
    no_reason = provider.post(f"{page}/reject", data={"csrf": csrf_of(shown), "reason": ""}, headers=PAGE)
    assert no_reason.status_code == 422
    accepted = provider.post(f"{page}/accept", data={"csrf": csrf_of(shown)}, headers=PAGE)
    assert accepted.status_code == 200
    assert f'action="{page}/correct"' in accepted.text
    assert f'action="{page}/reject"' not in accepted.text
    assert f'action="{page}/withdraw"' not in consumer.get(page, headers=PAGE).text  # accepted: too late
    inbox = consumer.get("/workspace/inbox", headers=PAGE).text
    assert f'href="{page}"' in inbox
    notice = re.search(r'action="(/workspace/inbox/(\d+)/read)"', inbox)
    assert notice
    read = consumer.post(notice.group(1), data={"csrf": csrf_of(inbox)}, headers=PAGE)
    assert read.status_code == 200
    assert f'action="{notice.group(1)}"' not in read.text


def test_a_held_version_is_decided_from_its_page(demo_client: TestClient) -> None:
    provider = as_user(demo_client, "civil-admin")
    register(provider, field_element=["", "", "", ""], field_sensitivity=["none", "none", "none", "none"])
    page = provider.get(f"/workspace/resources/{CODE}", headers=PAGE).text
    ids = ["11010519491231002X", "110101199003070038", "110102198512120018"]
    body = "registration_no,adopter_id,registered_on\n" + "".join(
        f"A{i},{n},2024-01-0{i + 1}\n" for i, n in enumerate(ids)
    )
    sent = provider.post(
        f"/workspace/resources/{CODE}/versions",
        data={"csrf": csrf_of(page)},
        files={"file": ("adoptions.csv", body.encode(), "text/csv")},
        headers=PAGE,
        follow_redirects=False,
    )
    version = sent.headers["location"]
    held = provider.get(version, headers=PAGE).text
    assert "status-held" in held
    assert 'name="decision_adopter_id"' in held

    manager = as_user(demo_client, "manager")
    assert f'href="{version}"' in manager.get("/manage/held", headers=PAGE).text

    nothing = provider.post(f"{version}/pii", data={"csrf": csrf_of(held)}, headers=PAGE)
    assert nothing.status_code == 422
    assert "decide at least one flag" in nothing.text
    no_reason = provider.post(
        f"{version}/pii", data={"csrf": csrf_of(held), "decision_adopter_id": "dismiss"}, headers=PAGE
    )
    assert no_reason.status_code == 422
    decided = provider.post(
        f"{version}/pii", data={"csrf": csrf_of(held), "decision_adopter_id": "accept"}, headers=PAGE
    )
    assert decided.status_code == 200
    assert "status-published" in decided.text
    assert f'href="{version}"' not in manager.get("/manage/held", headers=PAGE).text


def test_the_review_page_says_when_two_people_are_needed(demo: Platform, demo_client: TestClient) -> None:
    submit(demo, "psb.vehicles")  # a new, general-grade resource: one review is enough
    with demo.transaction() as session:  # and a published one opened up to unconditional sharing
        current = catalog.get_resource(session, SYSTEM, code="nra.real_estate")
        changed = ResourceDescription.model_validate(
            {**current.model_dump(include=set(ResourceDescription.model_fields)), "sharing_type": "unconditional"}
        )
        catalog.update_resource(session, as_(demo, "nra-admin"), code="nra.real_estate", data=changed)
        catalog.submit_resource(session, as_(demo, "nra-admin"), code="nra.real_estate")
    manager = as_user(demo_client, "manager")
    assert "Two-person rule" not in manager.get("/manage/reviews/psb.vehicles?lang=en", headers=PAGE).text
    regraded = manager.get("/manage/reviews/nra.real_estate?lang=en", headers=PAGE).text
    assert "Two-person rule" in regraded
    assert "nra-admin" in regraded


def test_the_operator_sees_ingestion_jobs_and_assigns_engines(demo_client: TestClient) -> None:
    operator = as_user(demo_client, "operator")
    jobs = operator.get("/operate/ingestions", headers=PAGE).text
    assert "psb.residents" in jobs
    assert "status-published" in jobs
    assert "11010" not in jobs  # no data: counts and file names only
    failed = operator.get("/operate/ingestions?status=failed", headers=PAGE).text
    assert "status-published" not in failed
    engines = operator.get("/operate/engines", headers=PAGE).text
    assigned = operator.post(
        "/operate/engines", data={"csrf": csrf_of(engines), "code": "psb.residents", "engine": "spark"}, headers=PAGE
    )
    assert assigned.status_code == 200
    assert re.search(r"<code>psb\.residents</code></td><td>spark</td>", assigned.text)
    wrong = operator.post(
        "/operate/engines", data={"csrf": csrf_of(engines), "code": "psb.residents", "engine": "oracle"}, headers=PAGE
    )
    assert wrong.status_code == 422
    analyst = as_user(demo_client, "psb-analyst")
    assert analyst.get("/operate/ingestions", headers=PAGE).status_code == 403
    assert analyst.get("/operate/engines", headers=PAGE).status_code == 403


def test_numbers_too_large_for_the_database_are_refused_not_crashes(demo_client: TestClient) -> None:
    import base64

    huge = "99999999999999999999"
    analyst = as_user(demo_client, "civil-analyst")
    for path in (f"/workspace/objections/{huge}", f"/workspace/applications/{huge}"):
        assert analyst.get(path, headers=PAGE).status_code == 422, path
    cursor = base64.urlsafe_b64encode(f"id:{huge}".encode()).decode().rstrip("=")
    assert analyst.get(f"/workspace/objections?cursor={cursor}", headers=PAGE).status_code == 422
    token = analyst.cookies.get("sluice_session")
    api = {"Authorization": f"Bearer {token}"}
    assert demo_client.get(f"/api/v1/applications/{huge}", headers=api).status_code == 422
    assert demo_client.get("/api/v1/applications", params={"next": cursor}, headers=api).status_code == 422


def test_only_a_reference_number_is_echoed_after_feedback(demo_client: TestClient) -> None:
    page = demo_client.get(f"/datasets/{OPEN}", params={"feedback": "1. Please call 400-000-0000"}, headers=PAGE)
    assert "Please call 400" not in page.text  # (the language links carry the query, URL-encoded)
    assert 'role="status"' not in page.text


def test_the_operator_sees_that_an_engine_failed_not_what_it_quoted(demo: Platform, demo_client: TestClient) -> None:
    from sluice.lake import service as lake
    from sluice.lake.schemas import IngestOptions

    quoted = "failed: ConversionException: Could not convert string '110101199003070038' to INT64"
    with demo.transaction() as session:
        ticket = lake.open_version(
            session, as_(demo, "psb-admin"), code="psb.residents", options=IngestOptions(), source_name="r.csv"
        )
    with demo.transaction() as session:
        lake.fail_version(session, as_(demo, "psb-admin"), ticket=ticket, error=quoted)
    operator = as_user(demo_client, "operator").get("/operate/ingestions?status=failed", headers=PAGE).text
    assert "110101199003070038" not in operator
    assert "status-failed" in operator
    with demo.reading() as session:
        audited = lake.list_ingestions(session, as_(demo, "auditor"), status=None, limit=5).items
    assert audited[0].error == quoted


def test_a_version_page_does_not_shadow_the_platform_version(demo_client: TestClient) -> None:
    from sluice import __version__

    page = as_user(demo_client, "psb-admin").get("/workspace/resources/psb.residents/versions/1", headers=PAGE).text
    assert f'href="/static/sluice.css?v={__version__}"' in page
    assert f"Sluice {__version__}</p>" in page
    assert "ValidationReport(" not in page
