"""The CKAN Action API: the real ckanapi client against a served demo, CKAN's envelope and errors, search
parameters, and the reading of q and fq."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ckanapi
import httpx2
import pytest
from fastapi.testclient import TestClient

from sluice.catalog.schemas import Sort
from sluice.compat import ckan_schema
from sluice.errors import Invalid
from sluice.platform import Platform
from sluice.settings import Settings
from tests.cli.test_serve import free_port
from tests.conftest import token_for

ACTION = "/api/3/action"
NOT_OPEN = "psb.residents"  # 人口基础信息: published, shared between departments, not open to the public
OPEN = "amr.enterprises"  # 企业登记信息: open, offered as CSV, JSON, PARQUET and API


def result(client: TestClient, action: str, **params: Any) -> Any:
    response = client.get(f"{ACTION}/{action}", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["help"] == f"http://testserver/api/3/action/help_show?name={action}"
    return body["result"]


def failure(response: httpx2.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["help"].startswith("http://testserver/api/3/action/help_show?name=")
    assert body["error"]["__type"] == kind
    error: dict[str, Any] = body["error"]
    return error


# --- the real client against a real server --------------------------------------------------------------


@pytest.fixture
def ckan_site(demo_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served copy of the demo government, and a civil-analyst's API key."""
    platform = Platform.open(demo_settings)
    try:
        key = token_for(platform, "civil-analyst")
    finally:
        platform.close()
    port = free_port()
    env = {**os.environ, "SLUICE_DATA_DIR": str(demo_settings.data_dir)}
    if demo_settings.database_url:
        env["SLUICE_DATABASE_URL"] = demo_settings.database_url
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, tmp_path / "serve.log")
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait_until_up(base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the server did not come up: {log.read_text()}")


def test_ckanapi_searches_what_the_caller_may_see(ckan_site: tuple[str, str]) -> None:
    base, key = ckan_site
    public = ckanapi.RemoteCKAN(base).action.package_search(q="人口", rows=100)
    names = {p["name"] for p in public["results"]}
    assert public["count"] == len(names) > 0
    assert NOT_OPEN not in names
    assert all(not p["private"] for p in public["results"])
    analyst = ckanapi.RemoteCKAN(base, apikey=key).action.package_search(q="人口", rows=100)
    assert NOT_OPEN in {p["name"] for p in analyst["results"]}
    assert names < {p["name"] for p in analyst["results"]}


def test_ckanapi_reads_packages_resources_organizations_and_tags(ckan_site: tuple[str, str]) -> None:
    base, key = ckan_site
    site = ckanapi.RemoteCKAN(base)
    package = site.action.package_show(id=OPEN)
    assert (package["name"], package["title"]) == (OPEN, "企业登记信息")
    assert package["organization"]["title"] == "市市场监督管理局"
    assert [r["format"] for r in package["resources"]] == ["CSV", "JSON", "PARQUET", "API"]
    distribution = site.action.resource_show(id=f"{OPEN}:csv")
    assert distribution["url"] == f"{base}/api/v1/resources/{OPEN}/download?format=CSV"
    assert distribution["package_id"] == OPEN
    assert OPEN in site.action.package_list()
    assert NOT_OPEN not in site.action.package_list()
    assert NOT_OPEN in ckanapi.RemoteCKAN(base, apikey=key).action.package_list()
    organizations = {o["name"]: o for o in site.action.organization_list(all_fields=True)}
    assert organizations["amr"]["title"] == "市市场监督管理局"
    assert organizations["amr"]["package_count"] == site.action.package_search(fq="organization:amr")["count"]
    assert site.action.organization_show(id="psb")["title_en"] == "Municipal Public Security Bureau"
    assert {"企业", "人口"} <= set(site.action.tag_list())


def test_ckanapi_sees_ckan_errors_and_the_site(ckan_site: tuple[str, str]) -> None:
    base, _ = ckan_site
    site = ckanapi.RemoteCKAN(base)
    with pytest.raises(ckanapi.NotFound, match=NOT_OPEN):
        site.action.package_show(id=NOT_OPEN)
    with pytest.raises(ckanapi.ValidationError):
        site.action.package_search(rows=5000)
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(base, apikey="slc_not-a-real-key").action.package_list()
    status = site.action.status_show()
    assert status["ckan_version"].startswith("2.10")
    assert status["site_url"] == base
    assert "facet.field" in site.action.help_show(name="package_search")


# --- the envelope, parameters and errors -----------------------------------------------------------------


def test_parameters_come_from_the_query_string_a_form_or_json(demo_client: TestClient) -> None:
    by_query = result(demo_client, "package_show", id=OPEN)
    by_form = demo_client.post(f"{ACTION}/package_show", data={"id": OPEN}).json()["result"]
    by_json = demo_client.post("/api/action/package_show", json={"id": OPEN}).json()["result"]
    assert by_query == by_form == by_json
    assert by_query["id"] == OPEN


def test_a_package_maps_the_resource(demo_client: TestClient) -> None:
    package = result(demo_client, "package_show", id=OPEN)
    assert package["title_translated"] == {"zh": "企业登记信息", "en": "Enterprise registry"}
    assert package["title_en"] == "Enterprise registry"
    assert package["notes"] == package["notes_translated"]["zh"]
    assert package["notes"].startswith("市场主体登记信息")
    assert (package["owner_org"], package["organization"]["name"]) == ("amr", "amr")
    assert {"name": "企业", "display_name": "企业"}.items() <= package["tags"][0].items()
    assert package["license_id"] == "CC-BY-4.0"
    assert package["num_resources"] == len(package["resources"]) == 4
    assert package["resources"][0]["id"] == f"{OPEN}:csv"
    assert package["metadata_modified"].startswith("20")
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert {"sharing_type", "open_type", "grade", "update_cycle"} <= extras.keys()
    assert extras["open_type"] == "open"
    assert package["fields"][0]["id"] == "credit_code"
    assert package["fields"][0]["info"]["label"] == "统一社会信用代码"


def test_search_filters_with_fq_and_q_terms(demo_client: TestClient) -> None:
    found = result(demo_client, "package_search", fq='organization:amr AND res_format:CSV tags:"企业"', rows=100)
    assert found["count"] > 0
    for package in found["results"]:
        assert package["owner_org"] == "amr"
        assert "CSV" in [r["format"] for r in package["resources"]]
        assert "企业" in [t["name"] for t in package["tags"]]
    in_q = result(demo_client, "package_search", q="organization:amr tags:企业 res_format:csv", rows=100)
    assert in_q["count"] == found["count"]
    either = result(demo_client, "package_search", fq="+owner_org:amr res_format:(CSV OR JSON)", rows=0)
    assert either["count"] >= found["count"]
    assert result(demo_client, "package_search", fq="res_format:PDF")["count"] == 0
    base = result(demo_client, "package_search", fq="groups:base", rows=100)["results"]
    assert base
    assert {p["groups"][0]["name"] for p in base} == {"base"}


def test_search_pages_sorts_and_counts_facets(demo_client: TestClient) -> None:
    first = result(demo_client, "package_search", sort="name asc", rows=5)
    second = result(demo_client, "package_search", sort="name asc", rows=5, start=5)
    names = [p["name"] for p in first["results"] + second["results"]]
    assert names == sorted(names)
    assert len(set(names)) == 10
    assert first["sort"] == "name asc"
    assert len(result(demo_client, "package_search")["results"]) == 10
    faceted = result(
        demo_client, "package_search", rows=0, **{"facet.field": '["organization","tags"]', "facet.limit": 3}
    )
    assert set(faceted["facets"]) == {"organization", "tags"}
    assert len(faceted["facets"]["tags"]) == 3
    top = faceted["search_facets"]["organization"]["items"][0]
    assert top["display_name"] == result(demo_client, "organization_show", id=top["name"])["title"]
    assert top["count"] == faceted["facets"]["organization"][top["name"]]


def test_errors_have_ckans_shape_and_statuses(demo_client: TestClient) -> None:
    missing = failure(demo_client.get(f"{ACTION}/package_show", params={"id": "psb.nothing"}), 404, "Not Found Error")
    assert missing["message"].startswith("Not found: ")
    unknown = failure(demo_client.get(f"{ACTION}/package_create"), 400, "Bad Request")
    assert "Action name not known: package_create" in unknown["message"]
    too_many = failure(demo_client.get(f"{ACTION}/package_search", params={"rows": 1001}), 409, "Validation Error")
    assert too_many["rows"] == [too_many["message"]]
    bad_json = demo_client.post(
        "/api/action/package_search", content=b"{rows: 1", headers={"Content-Type": "application/json"}
    )
    assert "JSON Error" in failure(bad_json, 400, "Bad Request")["message"]
    failure(demo_client.post("/api/action/package_search", json=[1, 2]), 400, "Bad Request")
    assert failure(demo_client.get(f"{ACTION}/package_show"), 409, "Validation Error")["id"] == ["Missing value: id"]
    failure(demo_client.get(f"{ACTION}/package_search", params={"fq": "colour:red"}), 409, "Validation Error")
    failure(demo_client.get(f"{ACTION}/package_search", params={"sort": "colour asc"}), 409, "Validation Error")
    failure(demo_client.get(f"{ACTION}/package_search", params={"start": "--5"}), 409, "Validation Error")
    failure(demo_client.get(f"{ACTION}/organization_list", params={"all_fields": "maybe"}), 409, "Validation Error")
    failure(demo_client.get(f"{ACTION}/package_search", params={"q": "x" * 201}), 409, "Validation Error")
    failure(demo_client.get(f"{ACTION}/resource_show", params={"id": f"{OPEN}:xlsx"}), 404, "Not Found Error")
    failure(demo_client.get(f"{ACTION}/organization_show", params={"id": "mof"}), 404, "Not Found Error")
    failure(demo_client.get(f"{ACTION}/help_show", params={"name": "nope"}), 404, "Not Found Error")


def test_a_key_is_accepted_bare_as_ckan_sends_it_or_as_a_bearer_token(demo: Platform, demo_client: TestClient) -> None:
    key = token_for(demo, "civil-analyst")
    url = f"{ACTION}/package_show?id={NOT_OPEN}"
    failure(demo_client.get(url), 404, "Not Found Error")
    for headers in ({"Authorization": key}, {"Authorization": f"Bearer {key}"}, {"X-CKAN-API-Key": key}):
        assert demo_client.get(url, headers=headers).json()["result"]["name"] == NOT_OPEN
    refused = failure(demo_client.get(url, headers={"Authorization": "slc_forged"}), 403, "Authorization Error")
    assert refused["message"].startswith("Access denied: ")
    failure(demo_client.get(url, headers={"Authorization": "Bearer slc_forged"}), 403, "Authorization Error")


def test_organizations(demo_client: TestClient) -> None:
    names = result(demo_client, "organization_list")
    assert names == sorted(names)
    assert {"psb", "amr", "bank", "platform"} <= set(names)
    chosen = result(demo_client, "organization_list", organizations='["amr","psb"]', all_fields="true")
    assert [o["name"] for o in chosen] == ["amr", "psb"]
    by_count = result(demo_client, "organization_list", all_fields=True, sort="package_count desc", limit=3)
    assert [o["package_count"] for o in by_count] == sorted((o["package_count"] for o in by_count), reverse=True)
    amr = result(demo_client, "organization_show", id="amr", include_datasets=True)
    assert amr["package_count"] == len(amr["packages"]) > 0
    assert {p["owner_org"] for p in amr["packages"]} == {"amr"}


def test_tags_status_and_help(demo_client: TestClient) -> None:
    tags = result(demo_client, "tag_list")
    assert tags == sorted(tags)
    assert "人口" in tags
    assert result(demo_client, "tag_list", query="交通") == [t for t in tags if "交通" in t]
    assert result(demo_client, "tag_list", all_fields=True)[0]["name"] == tags[0]
    assert result(demo_client, "status_show")["ckan_version"] == ckan_schema.CKAN_VERSION
    assert ":param id:" in result(demo_client, "help_show", name="package_show")


def test_the_ckan_routes_are_in_the_openapi_document_once(demo_client: TestClient) -> None:
    paths = demo_client.get("/openapi.json").json()["paths"]
    assert set(paths[f"{ACTION}/{{name}}"]) == {"get", "post"}
    assert "/api/action/{name}" not in paths


# --- reading q and fq ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "fq", "words", "filters"),
    [
        ("人口 户籍", "", ["人口", "户籍"], {}),
        ("*:*", "", [], {}),
        ("", "organization:psb", [], {"organisation": ["psb"]}),
        ("", '+owner_org:"psb" AND tags:"real estate"', [], {"organisation": ["psb"], "tag": ["real estate"]}),
        ("", "res_format:(csv OR Json)", [], {"format": ["CSV", "JSON"]}),
        (
            "",
            "groups:base open_type:open grade:general",
            [],
            {"category": ["base"], "open_type": ["open"], "grade": ["general"]},
        ),
        ("tags:人口 登记", "res_format:*", ["登记"], {"tag": ["人口"]}),
        ("see http://x.example", "", ["see", "http://x.example"], {}),
        ("", "+dataset_type:dataset organization:psb", [], {"organisation": ["psb"]}),
    ],
)
def test_q_and_fq_become_words_and_filters(q: str, fq: str, words: list[str], filters: dict[str, list[str]]) -> None:
    found = ckan_schema.criteria(q, fq)
    assert (found.words, found.filters, found.impossible) == (words, filters, False)


@pytest.mark.parametrize(
    "fq",
    [
        "colour:red",
        "-organization:psb",
        "organization:psb OR organization:amr",
        "tags:a tags:b",
        "(a OR b)",
        'tags:"open',
    ],
)
def test_filters_that_cannot_be_read_are_refused(fq: str) -> None:
    with pytest.raises(Invalid) as refused:
        ckan_schema.criteria("", fq)
    assert refused.value.detail["field"] == "fq"


def test_a_value_no_resource_can_have_matches_nothing() -> None:
    assert ckan_schema.criteria("", "res_format:PDF").impossible
    assert ckan_schema.criteria("", "dataset_type:harvest").impossible
    nothing = ckan_schema.criteria("", "groups:nothing")
    assert ckan_schema.search_query(nothing, rows=10, start=0, sort=None, facet_fields=[]) is None


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", None),
        ("score desc, metadata_modified desc", Sort.RELEVANCE),
        ("metadata_modified desc", Sort.NEWEST),
        ("name  ASC", Sort.CODE),
        ("views_recent desc", Sort.MOST_USED),
    ],
)
def test_sorts(sort: str, expected: Sort | None) -> None:
    assert ckan_schema.sort_order(sort) is expected
