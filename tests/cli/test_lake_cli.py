"""`sluice ingest`, `sluice versions`, `sluice lake` and `sluice inbox` on the demo government."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from sluice.cli.main import app
from sluice.settings import Settings
from tests.lake.conftest import GOOD_IDS, resident, write_csv


def run(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    env = {"SLUICE_DATA_DIR": str(settings.data_dir), "SLUICE_DATABASE_URL": settings.database_url}
    return CliRunner(env=env).invoke(app, list(args), input=stdin)


def test_a_provider_ingests_from_the_shell_and_sees_the_report(demo_settings: Settings, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "residents.csv", [resident(i) for i in GOOD_IDS])
    loaded = run(demo_settings, "--as", "psb-admin", "ingest", "psb.residents", str(source), "--json")
    assert loaded.exit_code == 0, loaded.output
    version = json.loads(loaded.stdout)
    assert version["status"] == "published"
    assert version["rows"] == len(GOOD_IDS)
    assert version["schema"][0] == {"name": "id_number", "type": "string"}
    listed = run(demo_settings, "versions", "list", "psb.residents", "--json")
    numbers = [(v["number"], v["serving"]) for v in json.loads(listed.stdout)]
    assert numbers == [(version["number"], True), (1, False)]  # the demo's first version stays, superseded
    shown = json.loads(run(demo_settings, "versions", "show", "psb.residents", str(version["number"])).stdout)
    assert shown["report"]["rows_read"] == len(GOOD_IDS)


def test_a_rejected_upload_exits_1_and_names_the_rule_and_line(demo_settings: Settings, tmp_path: Path) -> None:
    rows = [resident(GOOD_IDS[0]), resident("110105194912310021")]  # the second has a wrong check character
    source = write_csv(tmp_path / "residents.csv", rows)
    loaded = run(demo_settings, "--as", "psb-admin", "ingest", "psb.residents", str(source))
    assert loaded.exit_code == 1
    assert "rejected" in loaded.stdout
    assert "does not meet the data element resident_id" in loaded.stdout
    assert "line 3" in loaded.stdout


def test_another_department_cannot_ingest_and_a_bad_file_is_one_clear_line(
    demo_settings: Settings, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "residents.csv", [resident(GOOD_IDS[0])])
    refused = run(demo_settings, "--as", "civil-admin", "ingest", "psb.residents", str(source))
    assert refused.exit_code == 1
    assert "only a provider of 'psb'" in refused.stderr
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id_number,name\n1,2,3\n", "utf-8")
    broken = run(demo_settings, "--as", "psb-admin", "ingest", "psb.residents", str(ragged))
    assert broken.exit_code == 1
    assert "error:" in broken.stderr
    assert "Traceback" not in broken.output


def test_mapping_from_the_shell_and_the_operator_s_lake_commands(demo_settings: Settings, tmp_path: Path) -> None:
    header = ("id_number", "name", "gender", "birth_date", "division_code", "address", "mobile", "note")
    rows = [{**resident(i), "mobile": "13800138000", "note": "x"} for i in GOOD_IDS]
    source = write_csv(tmp_path / "renamed.csv", rows, header=header)
    refused = run(demo_settings, "--as", "psb-admin", "ingest", "psb.residents", str(source))
    assert "perhaps renamed: mobile → phone" in refused.stderr
    mapped = run(
        demo_settings,
        "--as",
        "psb-admin",
        "ingest",
        "psb.residents",
        str(source),
        "--map",
        "mobile=phone",
        "--map",
        "note=",
    )
    assert mapped.exit_code == 0, mapped.output
    assert "published" in mapped.stdout
    assert run(demo_settings, "--as", "psb-admin", "lake", "recover").exit_code == 1  # the operator's job
    recovered = run(demo_settings, "--as", "operator", "lake", "recover", "--all")
    assert recovered.exit_code == 0, recovered.output
    assert "unreferenced folder" in recovered.stderr
    pruned = run(demo_settings, "lake", "prune")
    assert pruned.exit_code == 0
    inbox = run(demo_settings, "--as", "manager", "inbox")
    assert inbox.exit_code == 0
