"""`sluice orgs`, `sluice users` and `sluice tokens`."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from sluice.cli.context import SYSTEM, err, fail, out, platform, reading, reports_errors, transaction
from sluice.identity import service
from sluice.identity.roles import OrgKind, parse_roles
from sluice.identity.schemas import OrganisationCreate, UserCreate
from sluice.pagination import Page

orgs = typer.Typer(help="Organisations: government departments, enterprises and the platform.", no_args_is_help=True)
users = typer.Typer(help="Accounts and their roles.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens.", no_args_is_help=True)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@orgs.command("add")
@reports_errors
def orgs_add(
    code: Annotated[str, typer.Argument(help="Short lower-case code, e.g. psb.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="Chinese name, e.g. 公安局.")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name, e.g. Public Security Bureau.")],
    kind: Annotated[OrgKind, typer.Option(help="department, enterprise or platform.")] = OrgKind.DEPARTMENT,
) -> None:
    """Register an organisation."""
    data = _validated(OrganisationCreate, code=code, name_zh=name_zh, name_en=name_en, kind=kind)
    with transaction() as session:
        org = service.create_organisation(session, SYSTEM, data=data)
    err.print(f"organisation {org.code} ({org.kind.value}) created")


@orgs.command("list")
@reports_errors
def orgs_list(
    kind: Annotated[OrgKind | None, typer.Option(help="Only this kind.")] = None, json: JsonOption = False
) -> None:
    """List organisations."""
    with reading() as session:
        found = _all_pages(lambda cursor: service.list_organisations(session, SYSTEM, kind=kind, cursor=cursor))
    if json:
        out.print_json(data=[o.model_dump(mode="json") for o in found])
        return
    table = Table("code", "kind", "名称", "name")
    for org in found:
        table.add_row(org.code, org.kind.value, org.name_zh, org.name_en)
    out.print(table)


@users.command("add")
@reports_errors
def users_add(
    username: Annotated[str, typer.Argument(help="Login name, e.g. psb-admin.")],
    org: Annotated[str, typer.Option("--org", help="Organisation code.")],
    role: Annotated[list[str] | None, typer.Option("--role", help="A role; repeat for several.")] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the portal.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a portal password from standard input.")
    ] = False,
) -> None:
    """Create an account. Roles: manager, operator, auditor (platform); org_admin, provider, consumer."""
    password = _read_password() if password_stdin else None
    roles = sorted(parse_roles(role or []))
    data = _validated(UserCreate, username=username, org_code=org, roles=roles, display_name=display_name)
    with transaction() as session:
        user = service.create_user(session, SYSTEM, data=data, password=password)
    err.print(f"account {user.username} created in {user.organisation} with roles {_roles(user.roles)}")


@users.command("list")
@reports_errors
def users_list(
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
    json: JsonOption = False,
) -> None:
    """List accounts."""
    with reading() as session:
        found = _all_pages(lambda cursor: service.list_users(session, SYSTEM, org_code=org, cursor=cursor))
    if json:
        out.print_json(data=[u.model_dump(mode="json") for u in found])
        return
    table = Table("username", "organisation", "roles", "status")
    for user in found:
        table.add_row(user.username, user.organisation, _roles(user.roles), "disabled" if user.disabled else "active")
    out.print(table)


@users.command("set-roles")
@reports_errors
def users_set_roles(
    username: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[
        list[str] | None, typer.Argument(help="Its new roles (replacing the old ones); none to clear.")
    ] = None,
) -> None:
    """Replace an account's roles."""
    roles = parse_roles(role or [])
    with transaction() as session:
        user = service.set_roles(session, SYSTEM, username=username, roles=roles)
    err.print(f"{user.username} now holds {_roles(user.roles)}")


@users.command("disable")
@reports_errors
def users_disable(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Disable an account: its tokens and password stop working at once."""
    with transaction() as session:
        service.disable_user(session, SYSTEM, username=username)
    err.print(f"{username} disabled")


@users.command("enable")
@reports_errors
def users_enable(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Enable a disabled account."""
    with transaction() as session:
        service.enable_user(session, SYSTEM, username=username)
    err.print(f"{username} enabled")


@users.command("passwd")
@reports_errors
def users_passwd(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Set an account's portal password, read from standard input."""
    password = _read_password()
    with transaction() as session:
        service.set_password(session, SYSTEM, username=username, password=password)
    err.print(f"password of {username} set")


@tokens.command("create")
@reports_errors
def tokens_create(
    username: Annotated[str, typer.Argument(help="The account the token acts as.")],
    name: Annotated[str, typer.Option(help="A label to tell tokens apart.")] = "cli",
    expires: Annotated[
        str | None, typer.Option(help="Expiry: a duration (90d, 12h, 30m) or a date/time (2027-01-31).")
    ] = None,
) -> None:
    """Create an API token and print only the token, so a script can capture it."""
    with platform() as opened:
        expires_at = parse_expiry(expires, opened.clock.now()) if expires else None
        with opened.transaction() as session:
            token = service.create_token(session, SYSTEM, username=username, name=name, expires_at=expires_at)
    sys.stdout.write(token.token + "\n")
    until = f", expires {token.expires_at.isoformat()}" if token.expires_at else ""
    err.print(f"token {token.id} for {username}{until}; it is shown once, keep it secret")


@tokens.command("list")
@reports_errors
def tokens_list(username: Annotated[str, typer.Argument(help="The account.")], json: JsonOption = False) -> None:
    """List an account's tokens (never their secrets)."""
    with reading() as session:
        found = service.list_tokens(session, SYSTEM, username=username)
    if json:
        out.print_json(data=[t.model_dump(mode="json") for t in found])
        return
    table = Table("id", "name", "prefix", "created", "expires", "last used", "status")
    for t in found:
        status = "revoked" if t.revoked_at else "active"
        table.add_row(
            str(t.id),
            t.name,
            t.prefix + "…",
            _when(t.created_at),
            _when(t.expires_at),
            _when(t.last_used_at),
            status,
        )
    out.print(table)


@tokens.command("revoke")
@reports_errors
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `sluice tokens list`).")],
) -> None:
    """Revoke a token; the next request that presents it is refused."""
    with transaction() as session:
        token = service.revoke_token(session, SYSTEM, token_id=token_id)
    err.print(f"token {token.id} of {token.username} revoked")


_DURATION = re.compile(r"^(\d+)([dhm])$")


def parse_expiry(text: str, now: datetime) -> datetime:
    """``90d`` / ``12h`` / ``30m`` from now, or an ISO date or date-time (UTC when no zone is given)."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now + {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--expires {text!r} is neither a duration (90d, 12h, 30m) nor a date (2027-01-31)", code=2)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_password() -> str:
    if sys.stdin.isatty():
        entered: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        return entered
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("no password on standard input", code=2)
    return line


def _validated(model: type[M], **values: object) -> M:
    """Validate CLI input with the same schema the API uses; a bad value is a usage error (exit 2)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        fail(f"{where}: {first['msg']}", code=2)


def _all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Every item of a paged listing, following the cursors."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        items += page.items
        if page.next is None:
            return items
        cursor = page.next


def _roles(roles: Sequence[object]) -> str:
    return ", ".join(str(r) for r in roles) or "(none)"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
