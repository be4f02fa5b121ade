"""The demo government: fixed organisations and accounts, built idempotently through the use cases."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sluice.catalog.models import Resource
from sluice.cli.main import app
from sluice.demo.build import DEMO_PASSWORD, build_demo, login_hint
from sluice.demo.catalog import SCENARIO_RESOURCES
from sluice.demo.government import ACCOUNTS
from sluice.demo.population import RESIDENTS_PER_SCALE, Flaws
from sluice.errors import Conflict
from sluice.identity import service
from sluice.identity.authn import verify_login
from sluice.identity.roles import PLATFORM_ROLES
from sluice.lake import service as lake
from sluice.lake.queries import data_file, serving_version
from sluice.objections import service as objections
from sluice.platform import Platform
from sluice.settings import Settings
from sluice.sharing import service as sharing
from sluice.sharing.contracts import contract_problems
from tests.conftest import SYSTEM

DEPARTMENTS = ["psb", "civil", "nra", "amr", "tax", "health", "transport", "court"]


def test_the_demo_has_the_named_organisations(demo: Platform) -> None:
    with demo.sessions() as session:
        orgs = service.list_organisations(session, SYSTEM).items
    assert {o.code: o.kind.value for o in orgs} == {
        "platform": "platform",
        **dict.fromkeys(DEPARTMENTS, "department"),
        "bank": "enterprise",
        "healthcode": "enterprise",
    }


def test_the_demo_has_the_named_accounts_with_their_roles(demo: Platform) -> None:
    with demo.sessions() as session:
        users = {u.username: u for u in service.list_users(session, SYSTEM, limit=100).items}
    expected = {"manager", "operator", "auditor", "bank-analyst", "healthcode-app"}
    expected |= {f"{code}-{kind}" for code in DEPARTMENTS for kind in ("admin", "analyst")}
    assert set(users) == expected
    assert [r.value for r in users["psb-admin"].roles] == ["org_admin", "provider"]
    assert [r.value for r in users["civil-analyst"].roles] == ["consumer"]
    assert [r.value for r in users["manager"].roles] == ["manager"]
    assert all(len(set(u.roles) & PLATFORM_ROLES) <= 1 for u in users.values())


@pytest.mark.parametrize("username", [a.username for a in ACCOUNTS][:5])
def test_every_demo_account_signs_in_with_the_demo_password(demo: Platform, username: str) -> None:
    assert verify_login(demo, username, DEMO_PASSWORD).username == username


def test_the_login_hint_names_accounts_and_password(demo: Platform) -> None:
    hint = login_hint(demo)
    assert hint is not None
    assert DEMO_PASSWORD in hint
    assert "psb-admin" in hint


def test_building_again_is_a_no_op(demo_settings: Settings) -> None:
    assert build_demo(demo_settings).built is False


def test_building_at_another_scale_is_refused_without_force(demo_settings: Settings) -> None:
    with pytest.raises(Conflict, match="--force"):
        build_demo(demo_settings, scale=2)


def test_the_demo_refuses_to_build_over_a_real_platform(settings: Settings) -> None:
    platform = Platform.open(settings)
    with platform.transaction() as session:
        from sluice.identity.schemas import OrganisationCreate

        service.create_organisation(
            session,
            SYSTEM,
            data=OrganisationCreate(code="mof", name_zh="财政局", name_en="Finance", kind="department"),
        )
    platform.close()
    with pytest.raises(Conflict, match="not the demo"):
        build_demo(settings)


def test_force_rebuilds_from_scratch(demo_settings: Settings) -> None:
    key_before = demo_settings.signing_key_path.read_bytes()
    outcome = build_demo(demo_settings, scale=2, force=True)
    assert outcome.built
    assert demo_settings.signing_key_path.read_bytes() != key_before
    platform = Platform.open(demo_settings)
    try:
        assert platform.meta("demo_scale") == "2"
    finally:
        platform.close()


def test_demo_build_cli_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative data folder, as `make demo` uses (./sluice-data): paths built from it must stay right.
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"SLUICE_DATA_DIR": "d", "SLUICE_DATABASE_URL": None})
    first = runner.invoke(app, ["demo", "build"])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.stderr
    second = runner.invoke(app, ["demo", "build"])
    assert second.exit_code == 0
    assert "already built" in second.stderr
    refused = runner.invoke(app, ["demo", "build", "--scale", "3"])
    assert refused.exit_code == 1
    assert "--force" in refused.stderr


def test_the_demo_data_is_loaded_with_its_known_flaws_found(demo: Platform) -> None:
    """Every scenario resource has a serving version; the deliberately wrong residents are quarantined (bad
    check characters, impossible dates) or served for quality work to find (birth date disagreeing with the ID)."""
    flaws = Flaws.of(RESIDENTS_PER_SCALE)
    assert flaws.bad_check > 0
    assert flaws.bad_date > 0
    assert flaws.mismatched_birth > 0
    with demo.reading() as session:
        for entry in SCENARIO_RESOURCES:
            versions = lake.list_versions(session, SYSTEM, code=entry.code)
            assert [v.serving for v in versions] == [True], entry.code
        residents = lake.get_version(session, SYSTEM, code="psb.residents", number=1)
    report = residents.report
    assert report is not None
    assert report.rows_read == RESIDENTS_PER_SCALE
    assert report.rows_quarantined == flaws.bad_check + flaws.bad_date
    counts = {(rule.rule, rule.field): rule.count for rule in report.rules}
    assert counts == {("element", "id_number"): flaws.bad_check, ("type", "birth_date"): flaws.bad_date}
    assert residents.rows == RESIDENTS_PER_SCALE - flaws.bad_check - flaws.bad_date
    with demo.reading() as session:
        resource = session.scalars(select(Resource).where(Resource.code == "psb.residents")).one()
        current = serving_version(session, resource.id)
        assert current is not None
        path = data_file(demo.settings.lake_dir, current)
    disagreeing = (
        duckdb.connect()
        .execute(
            "SELECT COUNT(*) FROM read_parquet(?) WHERE strftime(birth_date, '%Y%m%d') <> SUBSTR(id_number, 7, 8)",
            [str(path)],
        )
        .fetchone()
    )
    assert disagreeing == (flaws.mismatched_birth,)


def test_the_demo_shows_the_sharing_workflow_in_every_state(demo: Platform) -> None:
    auditor = SYSTEM
    with demo.reading() as session:
        applications = sharing.list_applications(session, auditor, box="all").items
        grants = sharing.list_grants(session, auditor, box="all")
        raised = objections.list_objections(session, auditor, box="all").items
        contracts = [sharing.get_contract(session, auditor, grant_id=g.id) for g in grants]
    states = {a.status for a in applications}
    assert {"pending", "escalated", "approved", "refused"} <= states
    assert any(a.countersigned_by == "manager" for a in applications)
    assert any(a.narrowed and a.status == "approved" for a in applications)
    assert next(a for a in applications if a.status == "escalated").deadline.overdue
    assert {g.status for g in grants} == {"active", "revoked"}
    assert {o.status for o in raised} == {"open", "accepted", "rejected"}
    assert all(contract_problems(c, demo.signer.public_key_pem) == [] for c in contracts)
