"""What every command shares: opening the platform, the system actor, printing, and turning errors into words."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from sluice.errors import SluiceError
from sluice.identity.actor import Actor
from sluice.platform import Platform
from sluice.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

# Results go to stdout (so scripts can capture them); messages, progress and errors go to stderr.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

SYSTEM = Actor.system(via="cli")
ACT_AS = "act_as"


def acting(session: Session, context: typer.Context) -> Actor:
    """Who a command acts as: the account named by `sluice --as NAME`, or else the local system."""
    name = (context.find_root().obj or {}).get(ACT_AS)
    if not name:
        return SYSTEM
    from sluice.identity.authn import actor_for_user
    from sluice.identity.queries import find_user

    user = find_user(session, name)
    if user.disabled_at is not None:
        fail(f"account {name!r} is disabled")
    return actor_for_user(user, via="cli")


def settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        fail(f"the configuration is not valid: {exc}")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def platform() -> Iterator[Platform]:
    try:
        opened = Platform.open(settings())
    except SluiceError as exc:
        fail(exc.message)
    try:
        yield opened
    finally:
        opened.close()


@contextmanager
def transaction() -> Iterator[Session]:
    with platform() as opened, opened.transaction() as session:
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    with platform() as opened, opened.reading() as session:
        yield session


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a domain error as one clear line on stderr and exit 1, instead of a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SluiceError as exc:
            fail(exc.message)

    return run


def is_terminal() -> bool:
    return sys.stdout.isatty()
