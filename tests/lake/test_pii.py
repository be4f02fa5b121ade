"""Personal data the catalog does not declare: the version is held, the right people are told, and it is
published only when the provider (or the manager) has decided every flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluice.errors import Conflict, Forbidden, Invalid
from sluice.identity.actor import Actor
from sluice.lake import service
from sluice.lake.ingestion import ingest
from sluice.lake.schemas import PiiDecision, VersionPublic, VersionStatus
from sluice.platform import Platform
from tests.conftest import bearer
from tests.lake.conftest import HOTLINE_HEADER, hotline, serving_number, stored_versions, write_csv

SURNAMES = "王李张刘陈杨黄赵吴周"


def held_version(demo: Platform, actor: Actor, code: str, tmp_path: Path) -> VersionPublic:
    """A version of ``code`` whose ``number`` holds mobile numbers and ``postcode`` holds people's names."""
    rows = [hotline(f"{n:03d}", f"1390000{n:04d}", postcode=f"{SURNAMES[n % 10]}小明") for n in range(12)]
    return ingest(demo, actor, code=code, source=write_csv(tmp_path / "hotlines.csv", rows, header=HOTLINE_HEADER))


def notices(client: TestClient, headers: dict[str, str], target: str) -> list[dict[str, Any]]:
    """The notices about ``target`` but the re-collection hint (registering it may also have told its provider
    which shared resources hold the same data elements)."""
    response = client.get("/api/v1/inbox", headers=headers)
    assert response.status_code == 200
    return [n for n in response.json() if n["target"] == target and n["kind"] != "resource.recollection"]


def test_flagged_personal_data_holds_the_version_until_every_flag_is_decided(
    demo: Platform, demo_client: TestClient, as_user: Callable[[str], Actor], hotlines: str, tmp_path: Path
) -> None:
    version = held_version(demo, as_user("psb-admin"), hotlines, tmp_path)

    assert version.status is VersionStatus.HELD
    assert not version.serving
    assert serving_number(demo, hotlines) is None
    assert [(f.field, f.kind, f.share, f.declared, f.decision) for f in version.pii] == [
        ("number", "mobile", 1.0, "none", None),
        ("postcode", "name", 1.0, "none", None),
    ]
    data = stored_versions(demo, hotlines)[version.number].data
    assert data is not None
    assert data.is_file()  # written, waiting: publishing it later needs no second ingestion

    # The provider's organisation and the manager are told; another department is not.
    provider, manager, other = bearer(demo, "psb-admin"), bearer(demo, "manager"), bearer(demo, "civil-admin")
    target = f"resource:{hotlines}"
    for headers in (provider, manager):
        [notice] = notices(demo_client, headers, target)
        assert notice["kind"] == "version.held"
        assert notice["detail"] == {"version": version.number, "fields": ["number", "postcode"]}
        assert "number (mobile, 100%)" in notice["message"]
    assert notices(demo_client, other, target) == []
    for headers, expected in ((provider, [version.number]), (manager, [version.number]), (other, [])):
        held = demo_client.get("/api/v1/versions/held", headers=headers).json()
        assert [v["number"] for v in held if v["resource"] == hotlines] == expected

    pii_url = f"/api/v1/resources/{hotlines}/versions/{version.number}/pii"
    # Dismissing needs a reason; another department may not decide at all. Neither changes anything.
    response = demo_client.post(pii_url, headers=provider, json=[{"field": "number", "decision": "dismiss"}])
    assert response.status_code == 422
    assert response.json()["error"]["detail"] == {"field": "reason"}
    response = demo_client.post(pii_url, headers=other, json=[{"field": "number", "decision": "accept"}])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert all(f.decision is None for f in _get(demo, as_user("psb-admin"), hotlines, version.number).pii)

    # One flag decided: still held.
    response = demo_client.post(pii_url, headers=provider, json=[{"field": "number", "decision": "accept"}])
    assert response.status_code == 200
    assert response.json()["status"] == "held"
    [marked] = [n for n in notices(demo_client, provider, target) if n["kind"] == "catalog.mark_personal"]
    assert marked["detail"] == {"fields": {"number": "personal"}}

    # The manager decides the other one: published, and it serves.
    response = demo_client.post(
        pii_url, headers=manager, json=[{"field": "postcode", "decision": "dismiss", "reason": "branch names"}]
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["serving"]) == ("published", True)
    assert [(f["field"], f["decision"], f["decided_by"], f["reason"]) for f in body["pii"]] == [
        ("number", "accepted", "psb-admin", None),
        ("postcode", "dismissed", "manager", "branch names"),
    ]
    assert serving_number(demo, hotlines) == version.number
    assert demo_client.get("/api/v1/versions/held", headers=manager).json() == []


def _get(demo: Platform, actor: Actor, code: str, number: int) -> VersionPublic:
    with demo.reading() as session:
        return service.get_version(session, actor, code=code, number=number)


def test_decisions_through_the_use_case(
    demo: Platform, as_user: Callable[[str], Actor], hotlines: str, tmp_path: Path
) -> None:
    version = held_version(demo, as_user("psb-admin"), hotlines, tmp_path)

    def decide(username: str, *decisions: PiiDecision) -> VersionPublic:
        with demo.transaction() as session:
            return service.decide_pii(
                session, as_user(username), code=hotlines, number=version.number, decisions=list(decisions)
            )

    with pytest.raises(Invalid, match="needs a reason"):
        decide("psb-admin", PiiDecision(field="number", decision="dismiss", reason="   "))
    for username in ("civil-admin", "psb-analyst", "auditor"):  # another department; a consumer; the auditor
        with pytest.raises(Forbidden):
            decide(username, PiiDecision(field="number", decision="accept"))
    with pytest.raises(Invalid, match="not flagged"):
        decide("psb-admin", PiiDecision(field="line_id", decision="accept"))
    assert _get(demo, as_user("psb-admin"), hotlines, version.number).status is VersionStatus.HELD

    # Meanwhile a newer, clean version is published: deciding the held one later must not displace it.
    clean = [hotline(f"{n:03d}", f"0101234{n:04d}") for n in range(12)]
    newer = ingest(
        demo,
        as_user("psb-admin"),
        code=hotlines,
        source=write_csv(tmp_path / "clean.csv", clean, header=HOTLINE_HEADER),
    )
    assert (newer.status, newer.serving) == (VersionStatus.PUBLISHED, True)

    decided = decide(
        "psb-admin",
        PiiDecision(field="number", decision="accept"),
        PiiDecision(field="postcode", decision="dismiss", reason="names of branches, not people"),
    )
    assert decided.status is VersionStatus.PUBLISHED
    assert not decided.serving
    assert decided.superseded_at is not None  # published already superseded by the newer version
    assert serving_number(demo, hotlines) == newer.number
    with pytest.raises(Conflict, match="not held"):
        decide("psb-admin", PiiDecision(field="number", decision="dismiss", reason="changed my mind"))
