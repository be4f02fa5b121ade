"""The `sluice` command, run in-process with the environment a shell user would set."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from sluice.cli.main import app
from sluice.db.engine import create_db_engine
from sluice.identity.authn import actor_for_token
from sluice.platform import Platform
from sluice.settings import Settings


def env_for(settings: Settings) -> dict[str, str | None]:
    return {"SLUICE_DATA_DIR": str(settings.data_dir), "SLUICE_DATABASE_URL": settings.database_url}


def run(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    return CliRunner(env=env_for(settings)).invoke(app, list(args), input=stdin)


def all_command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        subcommands: dict[str, object] = getattr(command, "commands", {})  # groups have sub-commands
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "sluice")
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_creates_database_lake_and_a_private_key_and_never_replaces_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh")
    first = run(settings, "init")
    assert first.exit_code == 0, first.output
    key = settings.signing_key_path
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert settings.lake_dir.is_dir()
    before = key.read_bytes()
    again = run(settings, "init")
    assert again.exit_code == 0
    assert "kept" in again.stderr
    assert key.read_bytes() == before


def test_users_are_added_listed_and_separation_is_refused(settings: Settings) -> None:
    assert (
        run(
            settings,
            "orgs",
            "add",
            "platform",
            "--name-zh",
            "平台",
            "--name-en",
            "Platform",
            "--kind",
            "platform",
        ).exit_code
        == 0
    )
    added = run(settings, "users", "add", "op", "--org", "platform", "--role", "operator")
    assert added.exit_code == 0, added.output
    refused = run(settings, "users", "add", "root", "--org", "platform", "--role", "operator", "--role", "auditor")
    assert refused.exit_code == 1
    assert "only one of manager, operator and auditor" in refused.stderr
    assert "Traceback" not in refused.output
    changed = run(settings, "users", "set-roles", "op", "operator", "manager")
    assert changed.exit_code == 1
    assert "separation" in changed.stderr
    listed = run(settings, "users", "list", "--json")
    assert '"username": "op"' in listed.stdout
    assert "root" not in listed.stdout


def test_an_unknown_role_is_refused_by_name(settings: Settings) -> None:
    result = run(settings, "users", "add", "x-user", "--org", "platform", "--role", "god")
    assert result.exit_code == 1
    assert "unknown role 'god'" in result.stderr


def test_tokens_create_prints_only_the_token_on_stdout(settings: Settings) -> None:
    run(settings, "orgs", "add", "psb", "--name-zh", "公安", "--name-en", "PSB")
    run(settings, "users", "add", "psb-clerk", "--org", "psb", "--role", "provider")
    result = run(settings, "tokens", "create", "psb-clerk", "--expires", "30d")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("slc_")
    assert "expires" in result.stderr
    platform = Platform.open(settings)
    try:
        assert actor_for_token(platform, token).username == "psb-clerk"
    finally:
        platform.close()
    revoked = run(settings, "tokens", "revoke", "1")
    assert revoked.exit_code == 0
    assert "revoked" in run(settings, "tokens", "list", "psb-clerk").stdout


def test_a_bad_expiry_is_a_usage_error(settings: Settings) -> None:
    result = run(settings, "tokens", "create", "anyone", "--expires", "next tuesday")
    assert result.exit_code == 2
    assert "duration" in result.stderr


def test_users_can_be_disabled_and_get_a_password_from_stdin(settings: Settings) -> None:
    run(settings, "orgs", "add", "psb", "--name-zh", "公安", "--name-en", "PSB")
    result = run(
        settings,
        "users",
        "add",
        "psb-clerk",
        "--org",
        "psb",
        "--password-stdin",
        stdin="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "disabled" in run(settings, "users", "disable", "psb-clerk").stderr
    assert '"disabled": true' in run(settings, "users", "list", "--json").stdout


def test_doctor_is_happy_with_a_fresh_platform_except_for_the_missing_operator(settings: Settings) -> None:
    result = run(settings, "doctor")
    assert result.exit_code == 0, result.output
    assert "warn operator account" in result.stdout


def test_doctor_says_what_is_wrong_with_the_key_and_how_to_fix_it(settings: Settings) -> None:
    os.chmod(settings.signing_key_path, 0o644)
    result = run(settings, "doctor")
    assert result.exit_code == 1
    assert "readable by others" in result.stdout
    assert f"chmod 600 {settings.signing_key_path}" in result.stdout


def test_doctor_on_an_empty_folder_says_to_run_init(tmp_path: Path) -> None:
    result = run(Settings(data_dir=tmp_path / "nothing"), "doctor")
    assert result.exit_code == 1
    assert "sluice init" in result.stdout


def test_commands_on_an_uninitialised_platform_say_to_run_init(tmp_path: Path) -> None:
    result = run(Settings(data_dir=tmp_path / "nothing"), "users", "list")
    assert result.exit_code == 1
    assert "sluice init" in result.stderr


def test_migrate_reports_nothing_to_do_on_a_current_schema(settings: Settings) -> None:
    result = run(settings, "migrate")
    assert result.exit_code == 0
    assert "nothing to do" in result.stderr


def test_serve_refuses_an_uninitialised_platform_clearly(tmp_path: Path) -> None:
    result = run(Settings(data_dir=tmp_path / "nothing"), "serve", "--port", "1")
    assert result.exit_code == 1
    assert "sluice init" in result.stderr


def test_the_platform_refuses_to_open_an_outdated_schema(settings: Settings) -> None:
    engine = create_db_engine(settings.metadata_url)
    from sluice.db import migrate

    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    engine.dispose()
    result = run(settings, "users", "list")
    assert result.exit_code == 1
    assert "sluice migrate" in result.stderr
    assert migrate.head_revision() in result.stderr
