"""Who sees which versions, and how much of each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluice.errors import NotFound
from sluice.identity.actor import Actor
from sluice.lake import service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import VersionPublic, VersionStatus
from sluice.platform import Platform
from tests.conftest import bearer
from tests.lake.conftest import GOOD_IDS, RESIDENTS, resident, write_csv


@pytest.fixture
def history(demo: Platform, as_user: Callable[[str], Actor], tmp_path: Path) -> None:
    """psb.residents: 1 published (the demo's), 2 rejected (a duplicate key), 3 published and serving."""
    provider = as_user("psb-admin")
    duplicate = [resident(GOOD_IDS[0]), resident(GOOD_IDS[0])]
    assert ingest(demo, provider, code=RESIDENTS, source=write_csv(tmp_path / "d.csv", duplicate)).number == 2
    clean = write_csv(tmp_path / "c.csv", [resident(i) for i in GOOD_IDS])
    assert ingest(demo, provider, code=RESIDENTS, source=clean).status is VersionStatus.PUBLISHED


def listed(demo: Platform, actor: Actor, code: str = RESIDENTS) -> list[VersionPublic]:
    with demo.reading() as session:
        return service.list_versions(session, actor, code=code)


@pytest.mark.usefixtures("history")
def test_the_provider_the_manager_and_the_auditor_see_every_version_with_its_report(
    demo: Platform, as_user: Callable[[str], Actor]
) -> None:
    for username in ("psb-admin", "psb-analyst", "manager", "auditor"):  # psb-analyst: the provider's own org
        versions = listed(demo, as_user(username))
        assert [(v.number, v.status) for v in versions] == [
            (3, VersionStatus.PUBLISHED),
            (2, VersionStatus.REJECTED),
            (1, VersionStatus.PUBLISHED),
        ], username
        assert all(v.report is not None for v in versions)
        assert versions[1].report is not None
        assert versions[1].report.rules[0].rule == "unique"
        assert (versions[0].source_name, versions[0].created_by) == ("c.csv", "psb-admin")
        assert versions[0].profile is not None


@pytest.mark.usefixtures("history")
def test_a_consumer_of_another_department_sees_only_published_versions_and_no_report(
    demo: Platform, demo_client: TestClient, as_user: Callable[[str], Actor]
) -> None:
    consumer = as_user("civil-analyst")
    versions = listed(demo, consumer)

    assert [(v.number, v.serving) for v in versions] == [(3, True), (1, False)]
    for version in versions:
        assert version.status is VersionStatus.PUBLISHED
        assert (version.report, version.pii, version.error) == (None, [], None)
        assert (version.source_name, version.created_by) == ("", "")
        assert version.profile is None  # not an open resource: its figures are not shown either
        assert version.schema_ is not None  # what the columns are, to query it
    with pytest.raises(NotFound), demo.reading() as session:
        service.get_version(session, consumer, code=RESIDENTS, number=2)

    response = demo_client.get(f"/api/v1/resources/{RESIDENTS}/versions/3", headers=bearer(demo, "civil-analyst"))
    assert response.status_code == 200
    assert (response.json()["report"], response.json()["pii"]) == (None, [])
    hidden = demo_client.get(f"/api/v1/resources/{RESIDENTS}/versions/2", headers=bearer(demo, "civil-analyst"))
    assert hidden.status_code == 404


def test_the_public_and_enterprises_see_nothing_of_a_resource_that_is_not_open(
    demo: Platform, demo_client: TestClient
) -> None:
    for sent in ({}, bearer(demo, "bank-analyst")):  # anonymous; a bank's analyst
        for path in ("", "/1", "/2"):
            response = demo_client.get(f"/api/v1/resources/{RESIDENTS}/versions{path}", headers=sent)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
    with pytest.raises(NotFound), demo.reading() as session:
        service.list_versions(session, Actor.anonymous(), code=RESIDENTS)


def test_anyone_sees_the_published_versions_of_an_open_resource_with_its_profile(
    demo: Platform, demo_client: TestClient
) -> None:
    response = demo_client.get("/api/v1/resources/amr.enterprises/versions")
    assert response.status_code == 200
    [version] = response.json()
    assert (version["number"], version["status"], version["serving"]) == (1, "published", True)
    assert (version["report"], version["pii"], version["source_name"]) == (None, [], "")
    assert version["profile"] is not None
    assert version["profile"]["rows"] == version["rows"]
