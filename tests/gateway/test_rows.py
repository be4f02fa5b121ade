"""GET /api/v1/resources/{code}/rows: Datasette-style filters and keyset pages over the same governed path."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from sluice.audit.models import AuditEvent
from sluice.demo.grants import MARRIAGE_CHECK, MARRIAGE_GRANT
from sluice.gateway import rows
from sluice.gateway.models import Grant
from sluice.platform import Platform
from tests.conftest import bearer

ROWS = "/api/v1/resources/{}/rows"
FIELDS = ["id_number", "name", "gender", "birth_date", "division_code"]


def test_filters_sort_and_pages_walk_every_granted_row_once(demo: Platform, demo_client: TestClient) -> None:
    headers = bearer(demo, "civil-analyst")
    params: dict[str, str] = {"purpose": MARRIAGE_CHECK, "gender__exact": "2", "_sort": "-birth_date", "_size": "40"}
    seen: list[list[object]] = []
    pages = 0
    while True:
        page = demo_client.get(ROWS.format("psb.residents"), params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["columns"] == ["id_number", "name", "gender", "birth_date", "division_code"]
        seen.extend(body["rows"])
        pages += 1
        if body["next"] is None:
            break
        params["_next"] = body["next"]
    total = demo_client.post(
        "/api/v1/query",
        json={"sql": "SELECT count(*) FROM psb.residents WHERE gender = '2'", "purpose": MARRIAGE_CHECK},
        headers=headers,
    ).json()["rows"][0][0]
    assert pages > 1
    assert len(seen) == total
    assert all(row[2] == "2" and row[4] == "110105" for row in seen)
    births = [str(row[3]) for row in seen]
    assert births == sorted(births, reverse=True)


def test_open_data_rows_need_no_account(demo_client: TestClient) -> None:
    page = demo_client.get(ROWS.format("amr.enterprises"), params={"status__in": "存续,在业", "_size": "5"})
    assert page.status_code == 200, page.text
    assert len(page.json()["rows"]) == 5
    assert all(row[page.json()["columns"].index("status")] in ("存续", "在业") for row in page.json()["rows"])


def test_bad_filters_and_fields_outside_the_grant_are_refused(demo: Platform, demo_client: TestClient) -> None:
    headers = bearer(demo, "civil-analyst")
    base = {"purpose": MARRIAGE_CHECK}
    assert (
        demo_client.get(ROWS.format("psb.residents"), params={**base, "phone__exact": "1"}, headers=headers).status_code
        == 422
    )
    unknown = demo_client.get(ROWS.format("psb.residents"), params={**base, "name__regex": "x"}, headers=headers)
    assert unknown.status_code == 422
    assert "unknown filter" in unknown.json()["error"]["message"]
    cursor = demo_client.get(ROWS.format("psb.residents"), params={**base, "_next": "garbage"}, headers=headers)
    assert cursor.status_code == 422
    wrong_purpose = demo_client.get(ROWS.format("psb.residents"), params={"purpose": "marketing"}, headers=headers)
    assert wrong_purpose.status_code == 403
    anonymous = demo_client.get(ROWS.format("psb.residents"))
    assert anonymous.status_code == 404


def test_pages_of_a_resource_whose_key_you_see_whole_are_ordered_by_the_key(
    demo: Platform, demo_client: TestClient
) -> None:
    headers = bearer(demo, "civil-analyst")  # an account: not held to the public's rate limit
    everyone = demo_client.get(ROWS.format("amr.enterprises"), params={"_size": "1000"}, headers=headers).json()
    assert everyone["next"] is None
    key = everyone["columns"].index("credit_code")
    walked: list[str] = []
    params = {"_size": "40", "_sort": "-status"}
    while True:
        page = demo_client.get(ROWS.format("amr.enterprises"), params=params, headers=headers).json()
        walked += [row[key] for row in page["rows"]]
        if page["next"] is None:
            break
        params["_next"] = page["next"]
    assert sorted(walked) == sorted(row[key] for row in everyone["rows"])  # every row once
    assert len(set(walked)) == len(walked)
    status = everyone["columns"].index("status")
    by_status: dict[str, list[str]] = {}
    for row in demo_client.get(ROWS.format("amr.enterprises"), params={"_size": "1000", "_sort": "-status"}).json()[
        "rows"
    ]:
        by_status.setdefault(row[status], []).append(row[key])
    assert all(codes == sorted(codes) for codes in by_status.values())  # ties broken by the key alone


def test_a_page_the_gateway_refuses_is_audited_and_one_it_answers_uses_one_call(
    demo: Platform, demo_client: TestClient
) -> None:
    headers = bearer(demo, "civil-analyst")
    params = {"purpose": MARRIAGE_CHECK, "_size": "5"}
    with demo.transaction() as session:
        grant = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        grant.quota = grant.calls_used + 1  # one call left
    assert demo_client.get(ROWS.format("psb.residents"), params=params, headers=headers).status_code == 200
    refused = demo_client.get(ROWS.format("psb.residents"), params=params, headers=headers)
    assert refused.status_code == 429, refused.text
    assert "quota" in refused.json()["error"]["message"]
    with demo.reading() as session:
        used = session.scalars(select(Grant).where(MARRIAGE_GRANT)).one()
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "gateway.refuse")).all()
    assert used.calls_used == used.quota  # the answered page took the last call, the refused one none
    assert len(refusals) == 1


def test_a_lookup_by_the_whole_key_is_not_sorted_and_any_other_page_is() -> None:
    lookup = rows.build("psb.residents", {"id_number__exact": "11010519491231002X"}, FIELDS, ["id_number"])
    assert "ORDER BY" not in lookup.sql  # one row at most: sorting it would only cost DuckDB a plan step
    assert lookup.sql.endswith("LIMIT 101")
    for params in (
        {"id_number__startswith": "110105"},
        {"id_number__in": "11010519491231002X,110105194912310021"},
        {"gender__exact": "2"},
    ):
        assert "ORDER BY" in rows.build("psb.residents", params, FIELDS, ["id_number"]).sql, params
    # A sort by another field still sorts: a linked source's key may repeat, and a page must follow _sort.
    sorted_lookup = {"id_number__exact": "11010519491231002X", "_sort": "-birth_date"}
    assert "ORDER BY" in rows.build("psb.residents", sorted_lookup, FIELDS, ["id_number"]).sql
    pinned_sort = {**sorted_lookup, "birth_date__exact": "1949-12-31"}
    assert "ORDER BY" not in rows.build("psb.residents", pinned_sort, FIELDS, ["id_number"]).sql
    # Without a unique key the page is ordered by every field; pinning only some of them still sorts.
    assert "ORDER BY" in rows.build("x.y", {"gender__exact": "2"}, FIELDS, FIELDS).sql


def test_a_page_looked_up_by_its_key_through_the_api_returns_that_one_row(
    demo: Platform, demo_client: TestClient
) -> None:
    headers = bearer(demo, "civil-analyst")
    some = demo_client.get(ROWS.format("amr.enterprises"), params={"_size": "3"}, headers=headers).json()
    key = some["columns"].index("credit_code")
    for row in some["rows"]:
        found = demo_client.get(
            ROWS.format("amr.enterprises"), params={"credit_code__exact": row[key]}, headers=headers
        ).json()
        assert found["rows"] == [row]
        assert found["next"] is None
