"""The use-case decorator: every use case names its permission check, which runs before its body.

``@use_case(check)`` wraps a use case so that ``check`` is called with exactly the use case's arguments
first; a check raises ``Forbidden`` (or ``Unauthenticated``) to stop it. The attribute it leaves on the
wrapper lets a test prove that every public function in every ``service`` module is a use case with a
check (as CKAN's coding-standards test does for its actions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class UseCaseInfo:
    name: str
    permission: Callable[..., None]


USE_CASE_ATTRIBUTE = "__sluice_use_case__"


def use_case(permission: Callable[..., None]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a use case guarded by ``permission``.

    The check is typed loosely (shared checks such as ``signed_in`` take ``*args, **kwargs``); the
    coding-standards test proves that every check accepts its use case's arguments.
    """

    def decorate(body: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(body)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            permission(*args, **kwargs)
            return body(*args, **kwargs)

        name = f"{body.__module__}.{body.__qualname__}"
        info = UseCaseInfo(name=name, permission=permission)
        setattr(guarded, USE_CASE_ATTRIBUTE, info)
        return guarded

    return decorate
