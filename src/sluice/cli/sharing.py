"""`sluice applications`, `sluice grants`, `sluice objections` and `sluice sharing`: the sharing workflow from
the shell. Workflow steps are signed by a person, so they run as an account: `sluice --as NAME applications
approve 3`. Only the deadline sweep runs as the platform itself. A countersignature is a second person's
decision and is taken with the manager's own credentials (the API, the portal), never with `--as`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer
from rich.table import Table

from sluice.cli.context import acting, err, out, reading, reports_errors, transaction
from sluice.gateway.masks import MaskKind
from sluice.gateway.schemas import Delivery, MaskSpec
from sluice.objections import service as objections
from sluice.objections.schemas import ObjectionAnswer, ObjectionCreate
from sluice.sharing import service
from sluice.sharing.contracts import contract_problems
from sluice.sharing.schemas import (
    Answer,
    ApplicationCreate,
    ApplicationItem,
    ApplicationPublic,
    Approval,
    Obligations,
    Resubmission,
)
from sluice.signing import published_keys

applications = typer.Typer(help="Applications for conditional resources, and their answers.", no_args_is_help=True)
grants = typer.Typer(help="Grants (contracts): see, accept, suspend, resume, revoke.", no_args_is_help=True)
objections_app = typer.Typer(help="Data objections (数据异议): flag wrong records, answer them.", no_args_is_help=True)
sharing = typer.Typer(help="The workflow's deadlines.", no_args_is_help=True)

Id = Annotated[int, typer.Argument(help="Its number.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (required to refuse, ask for changes, suspend, revoke).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Fields = Annotated[str | None, typer.Option("--fields", help="Comma-separated field names.")]
Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A day (YYYY-MM-DD), UTC.")]


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _utc(day: datetime | None) -> datetime | None:
    """The end of a day given as YYYY-MM-DD (a period's last day is included), in UTC."""
    return None if day is None else datetime.combine(day.date() + timedelta(days=1), time(), UTC)


def _masks(specs: list[str] | None) -> dict[str, MaskSpec] | None:
    if not specs:
        return None
    masks = {}
    for spec in specs:
        name, _, kind = spec.partition("=")
        if not kind:
            raise typer.BadParameter(f"{spec!r}: write FIELD=KIND, e.g. id_number=ID_REGION_BIRTH_YEAR")
        try:
            masks[name.strip()] = MaskSpec(kind=MaskKind(kind.strip()))
        except ValueError:
            raise typer.BadParameter(f"unknown mask {kind!r}; one of {', '.join(k.value for k in MaskKind)}") from None
    return masks


def _print_applications(items: list[ApplicationPublic], title: str) -> None:
    table = Table("id", "resource", "from", "to", "status", "deadline", "purpose", title=title)
    for a in items:
        due = (
            a.deadline.day.isoformat() + ("" if a.deadline.exact else "*") + (" overdue" if a.deadline.overdue else "")
        )
        table.add_row(str(a.id), a.resource, a.applicant_org, a.provider_org, a.status, due, a.purpose)
    out.print(table)


# --- applications --------------------------------------------------------------------------------------------


@applications.command("file")
@reports_errors
def applications_file(
    context: typer.Context,
    resource: Annotated[list[str], typer.Argument(help="Resource code(s).")],
    fields: Annotated[str, typer.Option("--fields", help="Comma-separated fields (the same for every resource).")],
    purpose: Annotated[str, typer.Option(help="What the data is for (用途).")],
    basis: Annotated[str, typer.Option("--basis", help="The legal basis.")],
    until: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of the period (YYYY-MM-DD).")],
    row_filter: Annotated[
        str | None, typer.Option("--filter", help="The rows needed, e.g. division_code = '110105'.")
    ] = None,
    unmasked: Annotated[
        str | None, typer.Option("--unmasked", help="Sensitive fields needed in clear (comma-separated).")
    ] = None,
    quota: Annotated[int | None, typer.Option(min=1, help="Calls over the grant's life.")] = None,
    delivery: Annotated[
        list[Delivery] | None, typer.Option(help="query, download or subscription; repeatable.")
    ] = None,
) -> None:
    """File an application (as a consumer: `sluice --as NAME applications file …`)."""
    items = [
        ApplicationItem(
            resource=code, fields=_names(fields) or [], row_filter=row_filter, unmasked=_names(unmasked) or []
        )
        for code in resource
    ]
    data = ApplicationCreate(
        items=items,
        purpose=purpose,
        legal_basis=basis,
        valid_until=_utc(until) or datetime.now(UTC),
        quota=quota,
        delivery=delivery or [Delivery.QUERY],
    )
    with transaction() as session:
        filed = service.file_application(session, acting(session, context), data=data)
    _print_applications(filed, "filed")


@applications.command("list")
@reports_errors
def applications_list(
    context: typer.Context,
    box: Annotated[str, typer.Option(help="mine, to_me, countersign, escalated or all.")] = "mine",
    status: Annotated[list[str] | None, typer.Option(help="Only these states; repeatable.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_out: JsonOption = False,
) -> None:
    """Applications: mine, to my organisation (the provider's queue), or the manager's lists."""
    with reading() as session:
        page = service.list_applications(session, acting(session, context), box=box, status=status, limit=limit)
    if json_out:
        out.print_json(page.model_dump_json())
        return
    _print_applications(page.items, f"applications ({box}); * = deadline estimated Monday–Friday")


@applications.command("show")
@reports_errors
def applications_show(context: typer.Context, application_id: Id) -> None:
    """One application with its history, as JSON."""
    with reading() as session:
        shown = service.get_application(session, acting(session, context), application_id=application_id)
    out.print_json(shown.model_dump_json())


@applications.command("approve")
@reports_errors
def applications_approve(
    context: typer.Context,
    application_id: Id,
    fields: Fields = None,
    row_filter: Annotated[str | None, typer.Option("--filter", help="An extra condition on the rows.")] = None,
    mask: Annotated[list[str] | None, typer.Option(help="FIELD=KIND; repeatable (default: sensitive fields).")] = None,
    until: Day = None,
    quota: Annotated[int | None, typer.Option(min=1)] = None,
    delete_after: Annotated[int | None, typer.Option(min=1, help="Days after the end to delete copies.")] = None,
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Approve, possibly narrowed (as the provider, or the manager once escalated)."""
    approval = Approval(
        fields=_names(fields),
        row_filter=row_filter,
        masks=_masks(mask),
        valid_until=_utc(until),
        quota=quota,
        obligations=Obligations(delete_after_days=delete_after),
        comment=comment,
    )
    with transaction() as session:
        done = service.approve_application(
            session, acting(session, context), application_id=application_id, approval=approval
        )
    err.print(f"application {done.id}: {done.status}" + (f", grant {done.grant}" if done.grant else ""))


@applications.command("changes")
@reports_errors
def applications_changes(context: typer.Context, application_id: Id, reason: Reason = "") -> None:
    """Ask the applicant for changes."""
    with transaction() as session:
        done = service.request_changes(
            session, acting(session, context), application_id=application_id, answer=Answer(reason=reason)
        )
    err.print(f"application {done.id}: {done.status}")


@applications.command("refuse")
@reports_errors
def applications_refuse(context: typer.Context, application_id: Id, reason: Reason = "") -> None:
    """Refuse, with a reason."""
    with transaction() as session:
        done = service.refuse_application(
            session, acting(session, context), application_id=application_id, answer=Answer(reason=reason)
        )
    err.print(f"application {done.id}: {done.status}")


@applications.command("resubmit")
@reports_errors
def applications_resubmit(
    context: typer.Context,
    application_id: Id,
    fields: Fields = None,
    row_filter: Annotated[str | None, typer.Option("--filter")] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    until: Day = None,
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Resubmit with the changes the provider asked for."""
    changes = Resubmission(
        fields=_names(fields), row_filter=row_filter, purpose=purpose, valid_until=_utc(until), comment=comment
    )
    with transaction() as session:
        done = service.resubmit_application(
            session, acting(session, context), application_id=application_id, changes=changes
        )
    err.print(f"application {done.id}: {done.status}, answer due {done.deadline.day}")


@applications.command("withdraw")
@reports_errors
def applications_withdraw(context: typer.Context, application_id: Id) -> None:
    with transaction() as session:
        done = service.withdraw_application(session, acting(session, context), application_id=application_id)
    err.print(f"application {done.id}: {done.status}")


# --- grants --------------------------------------------------------------------------------------------------


@grants.command("list")
@reports_errors
def grants_list(
    context: typer.Context,
    box: Annotated[str, typer.Option(help="mine, given or all.")] = "mine",
    json_out: JsonOption = False,
) -> None:
    """Grants held (with calls left), given, or all."""
    with reading() as session:
        found = service.list_grants(session, acting(session, context), box=box)
    if json_out:
        out.print_json("[" + ",".join(g.model_dump_json() for g in found) + "]")
        return
    table = Table("id", "resource", "from", "to", "status", "until", "calls left", "purpose", title=f"grants ({box})")
    for g in found:
        left = "∞" if g.calls_left is None else str(g.calls_left)
        table.add_row(
            str(g.id), g.resource, g.assigner, g.assignee, g.status, g.valid_until.date().isoformat(), left, g.purpose
        )
    out.print(table)


@grants.command("contract")
@reports_errors
def grants_contract(
    context: typer.Context,
    grant_id: Id,
    verify: Annotated[bool, typer.Option(help="Check the digest and every signature.")] = False,
) -> None:
    """The grant as a signed contract (JSON); with --verify, check it against the platform key."""
    from sluice.cli.context import platform

    with platform() as opened, opened.reading() as session:
        contract = service.get_contract(session, acting(session, context), grant_id=grant_id)
        keys = {k.key_id: k.public_key_pem for k in published_keys(opened.signer, opened.settings.keys_dir)}
    out.print_json(contract.model_dump_json())
    if verify:
        problems = contract_problems(contract, keys)
        for problem in problems:
            err.print(f"[red]✗[/] {problem}")
        if problems:
            raise typer.Exit(1)
        err.print(f"[green]✓[/] terms intact, {len(contract.signatures)} signature(s) verified")


def _grant_step(name: str, help_text: str) -> None:
    @grants.command(name, help=help_text)
    @reports_errors
    def command(context: typer.Context, grant_id: Id, reason: Reason = "") -> None:
        with transaction() as session:
            actor = acting(session, context)
            if name == "accept":
                done = service.accept_grant(session, actor, grant_id=grant_id)
            else:
                use = {
                    "decline": service.decline_grant,
                    "suspend": service.suspend_grant,
                    "resume": service.resume_grant,
                    "revoke": service.revoke_grant,
                }[name]
                done = use(session, actor, grant_id=grant_id, answer=Answer(reason=reason))
        err.print(f"grant {done.id}: {done.status}")


for _name, _help in (
    ("accept", "Accept narrowed terms (as the assignee's consumer)."),
    ("decline", "Decline narrowed terms."),
    ("suspend", "Suspend, with a reason (provider or manager)."),
    ("resume", "Resume a suspended grant."),
    ("revoke", "Revoke for good, with a reason."),
):
    _grant_step(_name, _help)


# --- objections ----------------------------------------------------------------------------------------------


@objections_app.command("raise")
@reports_errors
def objections_raise(
    context: typer.Context,
    resource: Annotated[str, typer.Argument(help="Resource code.")],
    key: Annotated[list[str], typer.Option(help="KEY_FIELD=VALUE naming the record; repeatable.")],
    field: Annotated[str, typer.Option(help="The field believed wrong.")],
    evidence: Annotated[str, typer.Option(help="Why you believe it is wrong.")],
    value: Annotated[str | None, typer.Option(help="The value believed right.")] = None,
) -> None:
    """Flag a record as wrong."""
    malformed = [k for k in key if "=" not in k]
    if malformed:
        raise typer.BadParameter(f"write each key as FIELD=VALUE, not {', '.join(malformed)}", param_hint="--key")
    record = dict(k.split("=", 1) for k in key)
    data = ObjectionCreate(resource=resource, record=record, field=field, claimed_value=value, evidence=evidence)
    with transaction() as session:
        done = objections.raise_objection(session, acting(session, context), data=data)
    err.print(f"objection {done.id}: {done.status}; answer due {done.deadline.day}")


@objections_app.command("list")
@reports_errors
def objections_list(
    context: typer.Context,
    box: Annotated[str, typer.Option(help="mine, to_me or all.")] = "mine",
    json_out: JsonOption = False,
) -> None:
    with reading() as session:
        page = objections.list_objections(session, acting(session, context), box=box)
    if json_out:
        out.print_json(page.model_dump_json())
        return
    table = Table("id", "resource", "from", "field", "status", "deadline", title=f"objections ({box})")
    for o in page.items:
        table.add_row(str(o.id), o.resource, o.objector_org, o.field, o.status, o.deadline.day.isoformat())
    out.print(table)


@objections_app.command("answer")
@reports_errors
def objections_answer(
    context: typer.Context,
    objection_id: Id,
    decision: Annotated[str, typer.Argument(help="accept, correct, reject or withdraw.")],
    reason: Reason = "",
    version: Annotated[int | None, typer.Option(help="The version that corrects it.")] = None,
) -> None:
    """Answer an objection (provider: accept [--version N], correct --version N, reject --reason; objector: withdraw)."""
    answer = ObjectionAnswer(reason=reason, version=version)
    with transaction() as session:
        actor = acting(session, context)
        if decision == "withdraw":
            done = objections.withdraw_objection(session, actor, objection_id=objection_id)
        elif decision in ("accept", "correct", "reject"):
            use = {
                "accept": objections.accept_objection,
                "correct": objections.correct_objection,
                "reject": objections.reject_objection,
            }[decision]
            done = use(session, actor, objection_id=objection_id, answer=answer)
        else:
            raise typer.BadParameter("decision is accept, correct, reject or withdraw")
    err.print(f"objection {done.id}: {done.status}")


@objections_app.command("rates")
@reports_errors
def objections_rates(
    context: typer.Context, by: Annotated[str, typer.Option(help="resource or organisation")] = "resource"
) -> None:
    """Objections per resource or per providing organisation."""
    with reading() as session:
        rates = objections.objection_rates(session, acting(session, context), by=by)
    table = Table(
        by, "deliveries", "objections", "open", "overdue", "accepted", "rejected", "per 1000", title="objection rates"
    )
    for r in rates:
        per = "—" if r.per_thousand_deliveries is None else f"{r.per_thousand_deliveries:g}"
        table.add_row(
            r.key,
            str(r.deliveries),
            str(r.objections),
            str(r.open),
            str(r.overdue),
            str(r.accepted),
            str(r.rejected),
            per,
        )
    out.print(table)


# --- deadlines -----------------------------------------------------------------------------------------------


@sharing.command("sweep")
@reports_errors
def sharing_sweep(context: typer.Context) -> None:
    """Escalate applications and objections past their deadline (the server also does this on a timer)."""
    with transaction() as session:
        report = service.sweep_deadlines(session, acting(session, context))
    err.print(
        f"escalated {len(report.applications_escalated)} application(s) and "
        f"{len(report.objections_escalated)} objection(s)"
    )
