"""`sluice resources` and `sluice elements` on the demo government, acting as the system or as an account."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from sluice.cli.main import app
from sluice.settings import Settings
from tests.catalog.conftest import draft


def run(settings: Settings, *args: str) -> Result:
    env = {"SLUICE_DATA_DIR": str(settings.data_dir), "SLUICE_DATABASE_URL": settings.database_url}
    return CliRunner(env=env).invoke(app, list(args))


def test_the_full_workflow_from_the_shell_as_the_right_accounts(demo_settings: Settings, tmp_path: Path) -> None:
    description = tmp_path / "vehicles.json"
    description.write_text(draft().model_dump_json(), "utf-8")
    registered = run(demo_settings, "--as", "psb-admin", "resources", "register", str(description))
    assert registered.exit_code == 0, registered.output
    assert "psb.vehicles registered as revision 1 (draft)" in registered.stderr
    assert run(demo_settings, "--as", "psb-admin", "resources", "submit", "psb.vehicles").exit_code == 0
    queue = run(demo_settings, "--as", "manager", "resources", "queue")
    assert "psb.vehicles" in queue.stdout
    refused = run(demo_settings, "--as", "psb-admin", "resources", "review", "psb.vehicles", "--publish")
    assert refused.exit_code == 1
    assert "only the manager" in refused.stderr
    published = run(demo_settings, "--as", "manager", "resources", "review", "psb.vehicles", "--publish")
    assert "revision 1 is published" in published.stderr
    history = json.loads(run(demo_settings, "resources", "history", "psb.vehicles", "--json").stdout)
    assert history[0]["reviewed_by"] == "manager"
    assert history[0]["created_by"] == "psb-admin"


def test_search_from_the_shell_respects_the_acting_account(demo_settings: Settings) -> None:
    as_department = json.loads(
        run(
            demo_settings, "--as", "civil-analyst", "resources", "list", "--q", "人口", "--json", "--limit", "100"
        ).stdout
    )
    as_bank = json.loads(
        run(
            demo_settings, "--as", "bank-analyst", "resources", "list", "--q", "人口", "--json", "--limit", "100"
        ).stdout
    )
    assert "psb.residents" in [r["code"] for r in as_department["items"]]
    assert "psb.residents" not in [r["code"] for r in as_bank["items"]]


def test_a_malformed_description_file_is_a_usage_error_naming_the_problem(
    demo_settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"code": "psb.x", "title_zh": "x"}', "utf-8")
    result = run(demo_settings, "resources", "register", str(broken))
    assert result.exit_code == 2
    assert "problem(s) in all" in result.stderr
    missing = run(demo_settings, "resources", "register", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


def test_an_unknown_account_for_as_is_refused(demo_settings: Settings) -> None:
    result = run(demo_settings, "--as", "ghost", "resources", "list")
    assert result.exit_code == 1
    assert "ghost" in result.stderr


def test_elements_are_listed_and_added(demo_settings: Settings, tmp_path: Path) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text("A\nB\nAB\nO\n", "utf-8")
    added = run(
        demo_settings,
        "--as",
        "manager",
        "elements",
        "add",
        "blood_type",
        "--name-zh",
        "血型",
        "--name-en",
        "Blood type",
        "--codes-file",
        str(codes),
    )
    assert added.exit_code == 0, added.output
    listed = json.loads(run(demo_settings, "elements", "list", "--json").stdout)
    assert {"blood_type", "resident_id"} <= {e["code"] for e in listed}
    two_rules = run(
        demo_settings,
        "elements",
        "add",
        "x_y",
        "--name-zh",
        "x",
        "--name-en",
        "x",
        "--pattern",
        "x",
        "--validator",
        "gbt7408_date",
    )
    assert two_rules.exit_code == 2
    assert "exactly one" in two_rules.stderr
