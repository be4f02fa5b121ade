"""The one place where domain errors become HTTP responses, all in one shape:

``{"error": {"code": "...", "message": "...", "detail": {...}}}``. No stack trace ever reaches a client;
unexpected failures are logged with an incident id, and the client gets that id to quote.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sluice.errors import (
    Conflict,
    Exhausted,
    Forbidden,
    Invalid,
    NotFound,
    NotInitialised,
    SluiceError,
    TooLarge,
    Unauthenticated,
)

log = logging.getLogger("sluice.api")

HTTP_STATUS: dict[type[SluiceError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Exhausted: 429,
    NotInitialised: 503,
}

HTTP_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "exhausted",
}


def error_body(code: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": jsonable_encoder(detail or {})}}


def status_for(error: SluiceError) -> int:
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 400


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SluiceError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    if isinstance(exc, Exhausted) and "retry_after" in exc.detail:
        headers = {"Retry-After": str(exc.detail["retry_after"])}
    return JSONResponse(error_body(exc.code, exc.message, exc.detail), status_for(exc), headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A malformed request, whether FastAPI found it or a schema the route built from its parameters did."""
    assert isinstance(exc, RequestValidationError | ValidationError)
    problems = [
        {
            "where": ".".join(str(p) for p in e.get("loc", ())),
            "problem": e.get("msg", ""),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"where": "request", "problem": "is not valid"}
    message = f"{first['where']}: {first['problem']}"
    return JSONResponse(error_body("invalid", message, {"problems": problems}), 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error, incident %s, on %s %s", incident, request.method, request.url.path)
    message = f"something went wrong on our side; quote incident {incident} to the operator"
    return JSONResponse(error_body("internal", message, {"incident": incident}), 500)


# Refusals by the database of one of two transactions that met head on (PostgreSQL: deadlock, serialisation
# failure): nothing of the refused one was kept, and sending the request again is the whole remedy.
RETRYABLE_SQLSTATES = {"40P01", "40001"}


def retryable(exc: BaseException) -> bool:
    """Whether the database refused this transaction only because another one ran into it at the same time."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in RETRYABLE_SQLSTATES or "database is locked" in str(exc.orig)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not retryable(exc):
        return await _unexpected(request, exc)
    log.warning("a transaction was refused by a concurrent one on %s %s: %s", request.method, request.url.path, exc)
    message = "another change was being made to the same records at the same moment; send the request again"
    return JSONResponse(error_body("conflict", message, {"retry": True}), 409, headers={"Retry-After": "1"})


Handler = Callable[[Request, Exception], Awaitable[Response]]

HANDLERS: dict[type[Exception], Handler] = {
    SluiceError: _domain_error,
    RequestValidationError: _validation_error,
    ValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    DBAPIError: _database_error,
    Exception: _unexpected,
}


def install_error_handlers(app: FastAPI, wrap: Callable[[Handler], Handler] | None = None) -> None:
    """The JSON error handlers; ``wrap`` lets another interface (the portal) answer some requests its own way."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, wrap(handler) if wrap else handler)
