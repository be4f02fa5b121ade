"""Domain errors.

Use cases raise these; every interface (REST, portal, CLI, CKAN) maps them to its own form in one place
(`sluice.api.errors` for HTTP). A message says what was wrong and how to fix it; `detail` carries
machine-readable facts (the field, the rule, the offending value).
"""

from __future__ import annotations

from typing import Any, ClassVar


class SluiceError(Exception):
    """Base of every error a user can cause."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = detail


class Unauthenticated(SluiceError):
    """No valid credentials were presented (missing, unknown, expired or revoked token; bad password)."""

    code = "unauthenticated"


class Forbidden(SluiceError):
    """The actor is known but may not do this."""

    code = "forbidden"


class NotFound(SluiceError):
    """The named thing does not exist (or is not visible to the actor)."""

    code = "not_found"


class Invalid(SluiceError):
    """The request itself breaks a rule: a malformed value, a missing field, a forbidden combination."""

    code = "invalid"


class Conflict(SluiceError):
    """The request clashes with the current state: a duplicate, a stale edit, a finished workflow."""

    code = "conflict"


class Exhausted(SluiceError):
    """A quota, rate or budget is used up."""

    code = "exhausted"


class TooLarge(SluiceError):
    """An upload or a request body is over the configured limit."""

    code = "too_large"


class NotInitialised(SluiceError):
    """The data folder does not hold an initialised platform."""

    code = "not_initialised"
