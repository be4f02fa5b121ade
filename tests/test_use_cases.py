"""Coding standards: every use case names its permission check, and the check runs before the body.

Like CKAN's test_coding_standards: a new public function in any ``service`` module without
``@use_case(check)`` fails this test.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest
from sqlalchemy.orm import Session

import sluice
from sluice.errors import Forbidden
from sluice.identity.actor import Actor
from sluice.usecase import USE_CASE_ATTRIBUTE, UseCaseInfo, use_case


def service_modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(sluice.__path__, "sluice.") if m.name.endswith(".service")]
    return [importlib.import_module(name) for name in sorted(names)]


def public_functions(module: ModuleType) -> list[tuple[str, object]]:
    return [
        (name, value)
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and getattr(value, "__module__", "") == module.__name__
    ]


def test_there_are_service_modules_to_check() -> None:
    assert "sluice.identity.service" in [m.__name__ for m in service_modules()]


@pytest.mark.parametrize("module", service_modules(), ids=lambda m: m.__name__)
def test_every_public_function_of_a_service_is_a_use_case_with_a_permission_check(module: ModuleType) -> None:
    functions = public_functions(module)
    assert functions, f"{module.__name__} has no use cases"
    unchecked = [name for name, fn in functions if not isinstance(getattr(fn, USE_CASE_ATTRIBUTE, None), UseCaseInfo)]
    assert unchecked == [], f"use cases without a permission check in {module.__name__}: {unchecked}"


@pytest.mark.parametrize("module", service_modules(), ids=lambda m: m.__name__)
def test_every_use_case_starts_with_session_and_actor(module: ModuleType) -> None:
    for name, fn in public_functions(module):
        parameters = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
        assert [p.name for p in parameters[:2]] == ["session", "actor"], name
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[2:]), (
            f"{name}: arguments after session and actor must be keyword-only, so checks see them by name"
        )


@pytest.mark.parametrize("module", service_modules(), ids=lambda m: m.__name__)
def test_every_permission_check_accepts_its_use_case_s_arguments(module: ModuleType) -> None:
    for name, fn in public_functions(module):
        info: UseCaseInfo = getattr(fn, USE_CASE_ATTRIBUTE)
        parameters = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
        keywords = {p.name: None for p in parameters[2:]}
        try:
            inspect.signature(info.permission).bind(None, None, **keywords)
        except TypeError as exc:
            pytest.fail(f"{name}: its check {info.permission.__qualname__} cannot take its arguments: {exc}")


def test_the_check_runs_first_and_stops_the_body() -> None:
    ran: list[str] = []

    def deny(session: Session, actor: Actor, *, value: int) -> None:
        ran.append(f"check {value}")
        raise Forbidden("no")

    @use_case(deny)
    def act(session: Session, actor: Actor, *, value: int) -> int:
        ran.append("body")
        return value

    with pytest.raises(Forbidden):
        act(None, Actor.anonymous(), value=3)  # type: ignore[arg-type]
    assert ran == ["check 3"]


def test_the_body_runs_after_a_passing_check_with_the_same_arguments() -> None:
    seen: list[int] = []

    def allow(session: Session, actor: Actor, *, value: int) -> None:
        seen.append(value)

    @use_case(allow)
    def act(session: Session, actor: Actor, *, value: int) -> int:
        return value * 2

    assert act(None, Actor.anonymous(), value=4) == 8  # type: ignore[arg-type]
    assert seen == [4]
    assert getattr(act, USE_CASE_ATTRIBUTE).permission is allow


READ_PREFIXES = ("get_", "list_", "search_", "whoami")


@pytest.mark.parametrize("module", service_modules(), ids=lambda m: m.__name__)
def test_only_reading_use_cases_are_open_to_the_public(module: ModuleType) -> None:
    from sluice.identity.permissions import public

    for name, fn in public_functions(module):
        if getattr(fn, USE_CASE_ATTRIBUTE).permission is public:
            assert name.startswith(READ_PREFIXES), f"{name} is open to anyone but its name does not say it only reads"
