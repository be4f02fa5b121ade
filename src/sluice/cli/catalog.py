"""`sluice resources` and `sluice elements`: the catalog from the shell.

Commands act as the local system, or as an account with `sluice --as NAME …` (then that account's roles
apply, exactly as over the API: `sluice --as psb-admin resources submit psb.vehicles`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from sluice.catalog import service
from sluice.catalog.schemas import (
    DataElementCreate,
    ResourceCreate,
    ResourceDescription,
    ReviewDecision,
    SearchQuery,
    Sort,
)
from sluice.catalog.vocab import OpenType, SharingType
from sluice.cli.context import acting, err, fail, out, reading, reports_errors, transaction

resources = typer.Typer(help="The resource catalog: register, review, find.", no_args_is_help=True)
elements = typer.Typer(help="The data element library (数据元): the standards fields conform to.", no_args_is_help=True)

M = TypeVar("M", bound=BaseModel)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@resources.command("list")
@reports_errors
def resources_list(
    context: typer.Context,
    q: Annotated[str, typer.Option("--q", help="Words, in Chinese or English.")] = "",
    org: Annotated[list[str] | None, typer.Option("--org", help="Provider organisation code; repeatable.")] = None,
    sharing: Annotated[list[SharingType] | None, typer.Option("--sharing", help="Sharing type; repeatable.")] = None,
    open_type: Annotated[list[OpenType] | None, typer.Option("--open", help="Open type; repeatable.")] = None,
    sort: Annotated[Sort | None, typer.Option(help="relevance, newest, most_used or code.")] = None,
    limit: Annotated[int, typer.Option(min=0, max=1000, help="How many to show.")] = 20,
    json_out: JsonOption = False,
) -> None:
    """Search the catalog (what the acting account may see), with counts by organisation."""
    query = SearchQuery(
        q=q,
        organisation=org or [],
        sharing_type=sharing or [],
        open_type=open_type or [],
        sort=sort,
        limit=limit,
        facets=["organisation"],
    )
    with reading() as session:
        found = service.search_resources(session, acting(session, context), query=query)
    if json_out:
        out.print_json(found.model_dump_json())
        return
    table = Table("code", "标题", "title", "sharing", "open", "grade", title=f"{found.count} found")
    for item in found.items:
        table.add_row(
            item.code, item.title_zh, item.title_en, item.sharing_type.value, item.open_type.value, item.grade.value
        )
    out.print(table)


@resources.command("show")
@reports_errors
def resources_show(
    context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code, e.g. psb.residents.")]
) -> None:
    """Show a resource's description as JSON."""
    with reading() as session:
        shown = service.get_resource(session, acting(session, context), code=code)
    out.print_json(shown.model_dump_json())


@resources.command("register")
@reports_errors
def resources_register(
    context: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON file with the resource (see docs/api.md).")],
) -> None:
    """Register a resource from a JSON description; it starts as a draft."""
    data = _load(ResourceCreate, file)
    with transaction() as session:
        created = service.register_resource(session, acting(session, context), data=data)
    err.print(f"{created.code} registered as revision {created.revision} ({created.status.value})")


@resources.command("update")
@reports_errors
def resources_update(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    file: Annotated[Path, typer.Argument(help="A JSON file with the new description.")],
) -> None:
    """Change a resource's description (a published one gets a new revision, reviewed again)."""
    data = _load(ResourceDescription, file)
    with transaction() as session:
        updated = service.update_resource(session, acting(session, context), code=code, data=data)
    pending = f", revision {updated.pending_revision} in work" if updated.pending_revision else ""
    err.print(f"{code} updated (showing revision {updated.revision}{pending})")


@resources.command("submit")
@reports_errors
def resources_submit(context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code.")]) -> None:
    """Submit the working revision to the manager."""
    with transaction() as session:
        service.submit_resource(session, acting(session, context), code=code)
    err.print(f"{code} submitted for review")


@resources.command("review")
@reports_errors
def resources_review(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Resource code.")],
    publish: Annotated[bool, typer.Option("--publish/--return", help="Publish, or return it to the provider.")],
    comment: Annotated[str, typer.Option(help="Why (required when returning).")] = "",
) -> None:
    """Publish a submitted revision, or return it with a comment (the manager's decision)."""
    decision = ReviewDecision(decision="publish" if publish else "return", comment=comment)
    with transaction() as session:
        reviewed = service.review_resource(session, acting(session, context), code=code, decision=decision)
    err.print(f"{code}: revision {reviewed.revision} is {reviewed.status.value}")


@resources.command("history")
@reports_errors
def resources_history(
    context: typer.Context, code: Annotated[str, typer.Argument(help="Resource code.")], json_out: JsonOption = False
) -> None:
    """Every revision of a resource's description, newest first."""
    with reading() as session:
        revisions = service.list_revisions(session, acting(session, context), code=code)
    if json_out:
        out.print_json(json.dumps([r.model_dump(mode="json") for r in revisions], ensure_ascii=False))
        return
    table = Table("rev", "status", "by", "created", "reviewed by", "comment")
    for r in revisions:
        table.add_row(
            str(r.number),
            r.status.value,
            r.created_by,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.reviewed_by or "-",
            r.review_comment or "",
        )
    out.print(table)


@resources.command("queue")
@reports_errors
def resources_queue(
    context: typer.Context,
) -> None:
    """Resources waiting for the manager's review."""
    with reading() as session:
        waiting = service.list_review_queue(session, acting(session, context))
    for item in waiting:
        out.print(f"{item.code}\t{item.title_zh}\t{item.title_en}")
    err.print(f"{len(waiting)} waiting")


@elements.command("list")
@reports_errors
def elements_list(context: typer.Context, json_out: JsonOption = False) -> None:
    """The data element library."""
    with reading() as session:
        found = service.list_data_elements(session, acting(session, context))
    if json_out:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in found], ensure_ascii=False))
        return
    table = Table("code", "名称", "name", "standard", "kind")
    for e in found:
        table.add_row(e.code, e.name_zh, e.name_en, e.standard, e.kind)
    out.print(table)


@elements.command("add")
@reports_errors
def elements_add(
    context: typer.Context,
    code: Annotated[str, typer.Argument(help="Element code, e.g. plate_number.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="Chinese name.")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name.")],
    standard: Annotated[str, typer.Option(help="The standard it comes from, e.g. GA 36-2018.")] = "",
    pattern: Annotated[str | None, typer.Option(help="A regular expression values must fully match.")] = None,
    codes_file: Annotated[
        Path | None, typer.Option("--codes-file", help="A file with one allowed code per line.")
    ] = None,
    validator: Annotated[str | None, typer.Option(help="A built-in validator's name.")] = None,
) -> None:
    """Add a data element: give exactly one of --pattern, --codes-file, --validator."""
    codes = (
        [line.strip() for line in codes_file.read_text("utf-8").splitlines() if line.strip()] if codes_file else None
    )
    try:
        data = DataElementCreate(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            standard=standard,
            pattern=pattern,
            codes=codes,
            validator=validator,
        )
    except ValidationError as exc:
        fail(_first_problem(exc), code=2)
    with transaction() as session:
        created = service.create_data_element(session, acting(session, context), data=data)
    err.print(f"data element {created.code} ({created.kind}) added")


def _load(model: type[M], file: Path) -> M:
    try:
        return model.model_validate_json(file.read_bytes())
    except FileNotFoundError:
        fail(f"{file} does not exist", code=2)
    except ValidationError as exc:
        fail(f"{file}: {_first_problem(exc)}", code=2)


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "file"
    return f"{where}: {first['msg']} ({exc.error_count()} problem(s) in all)"
