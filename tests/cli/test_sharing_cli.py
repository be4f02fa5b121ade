"""The sharing workflow from the shell, each step as the account that takes it (`sluice --as NAME …`)."""

from __future__ import annotations

import json

from sluice.settings import Settings
from tests.cli.test_catalog_cli import run


def test_apply_approve_countersign_and_verify_the_contract_from_the_shell(demo_settings: Settings) -> None:
    filed = run(
        demo_settings,
        "--as",
        "civil-analyst",
        "applications",
        "file",
        "nra.real_estate",
        "--fields",
        "certificate_no,location",
        "--purpose",
        "不动产登记",
        "--basis",
        "《不动产登记暂行条例》",
        "--until",
        "2027-06-30",
    )
    assert filed.exit_code == 0, filed.output
    listed = json.loads(
        run(demo_settings, "--as", "nra-admin", "applications", "list", "--box", "to_me", "--json").stdout
    )
    number = str(listed["items"][0]["id"])
    as_system = run(demo_settings, "applications", "approve", number)
    assert as_system.exit_code == 1
    assert "sluice --as USERNAME" in as_system.stderr
    refused = run(demo_settings, "--as", "nra-admin", "applications", "refuse", number)
    assert refused.exit_code == 1
    assert "give the reason" in refused.stderr
    endorsed = run(demo_settings, "--as", "nra-admin", "applications", "approve", number, "--comment", "同意")
    assert "awaiting_countersign" in endorsed.stderr
    # The countersignature is the manager's own decision, over the API (the shell has no command for it).
    grant = str(_countersign_over_the_api(demo_settings, int(number)))
    verified = run(demo_settings, "--as", "civil-analyst", "grants", "contract", grant, "--verify")
    assert verified.exit_code == 0, verified.output
    assert "3 signature(s) verified" in verified.stderr
    mine = json.loads(run(demo_settings, "--as", "civil-analyst", "grants", "list", "--json").stdout)
    assert [g["calls_left"] for g in mine if g["resource"] == "nra.real_estate"] == [None]
    revoked = run(demo_settings, "--as", "nra-admin", "grants", "revoke", grant, "--reason", "项目结束")
    assert f"grant {grant}: revoked" in revoked.stderr


def _countersign_over_the_api(settings: Settings, number: int) -> int:
    from sluice.identity.authn import actor_for_user
    from sluice.identity.queries import find_user
    from sluice.platform import Platform
    from sluice.sharing import service
    from sluice.sharing.schemas import Answer

    platform = Platform.open(settings)
    try:
        with platform.transaction() as session:
            manager = actor_for_user(find_user(session, "manager"), via="token:1")
            done = service.countersign_application(session, manager, application_id=number, answer=Answer())
    finally:
        platform.close()
    assert done.grant is not None
    return done.grant


def test_objections_and_the_sweep_from_the_shell(demo_settings: Settings) -> None:
    raised = run(
        demo_settings,
        "--as",
        "civil-analyst",
        "objections",
        "raise",
        "psb.residents",
        "--key",
        "id_number=11010519491231002X",
        "--field",
        "gender",
        "--value",
        "2",
        "--evidence",
        "当事人身份证原件",
    )
    assert raised.exit_code == 0, raised.output
    number = raised.stderr.split()[1].rstrip(":")
    answered = run(demo_settings, "--as", "psb-admin", "objections", "answer", number, "reject", "--reason", "核实无误")
    assert f"objection {number}: rejected" in answered.stderr
    rates = run(demo_settings, "--as", "manager", "objections", "rates")
    assert rates.exit_code == 0, rates.output
    assert "objection rates" in rates.stdout
    swept = run(demo_settings, "sharing", "sweep")
    assert swept.exit_code == 0, swept.output
    assert "escalated 0 application(s) and 0 objection(s)" in swept.stderr
