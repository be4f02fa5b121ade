"""`sluice webhooks list` and `sluice webhooks deliver`, run as the `webhooks` sub-app from the shell."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner, Result

from sluice.cli.webhooks import webhooks
from sluice.clock import FixedClock
from sluice.settings import Settings
from tests.inbox.conftest import Receiver, World


def run(settings: Settings, *args: str) -> Result:
    env = {"SLUICE_DATA_DIR": str(settings.data_dir), "SLUICE_DATABASE_URL": settings.database_url}
    return CliRunner(env=env).invoke(webhooks, list(args))


def test_the_shell_lists_webhooks_without_secrets(world: World, settings: Settings) -> None:
    hook = world.register("https://psb.example.gov.cn/hook", kinds=("version.held",))
    listed = run(settings, "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(w["id"], w["organisation"], w["kinds"]) for w in json.loads(listed.stdout)] == [
        (hook.id, "psb", ["version.held"])
    ]
    assert hook.secret not in listed.output
    table = run(settings, "list", "--organisation", "psb")
    assert table.exit_code == 0, table.output
    assert "version.held" in table.stdout
    unknown = run(settings, "list", "--organisation", "nope")
    assert unknown.exit_code == 1
    assert "no organisation with code 'nope'" in unknown.output


def test_the_shell_sends_what_is_due_and_prints_the_counts(
    world: World, settings: Settings, receiver: Receiver, clock: FixedClock
) -> None:
    # The shell runs on the system clock: queue the notice in the past so that it is due now.
    clock.advance(datetime(2020, 1, 1, tzinfo=UTC) - clock.now())
    world.register(receiver.url)
    world.notify()
    world.notify()
    receiver.statuses = [500]

    sent = run(settings, "deliver")

    assert sent.exit_code == 0, sent.output
    assert "attempted 2: 1 delivered, 1 to retry, 0 failed" in sent.stdout
    assert len(receiver.received) == 2
    assert "attempted 0" in run(settings, "deliver").stdout
