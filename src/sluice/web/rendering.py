"""Turning a page's data into HTML: one Jinja2 environment (autoescaping everything), the language of the
request, and the headers every page carries (a strict Content-Security-Policy: our own scripts, styles and
images only — nothing from any other host, and no inline script an injected string could become)."""

from __future__ import annotations

import functools
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

from sluice import __version__
from sluice.api.errors import status_for
from sluice.catalog.vocab import LABELS, Category, Grade, OpenType, SharingType
from sluice.errors import SluiceError
from sluice.web import i18n
from sluice.web.i18n import _
from sluice.web.security import Visitor, remember

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sluice.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=i18n.local_time, day=i18n.local_date, number=i18n.number, label=label, pick=pick, cell=cell)
    env.filters.update(filesize=i18n.file_size, took=i18n.duration)
    env.globals.update(
        app_version=__version__,  # not "version": pages pass data versions under that name
        html_lang=i18n.html_lang,
        locale=i18n.current,
        facet_title=facet_title,
        facet_value=facet_value,
        version_status=version_status,
        mode_title=mode_title,
        on_error_title=on_error_title,
        pii_kind=pii_kind,
        feedback_kind=feedback_kind,
    )
    return env


def label(value: StrEnum | str) -> str:
    """A controlled-vocabulary value in the reader's language."""
    pair = LABELS.get((type(value), value.value)) if isinstance(value, StrEnum) else None
    if pair is None:
        return str(value)
    return pair[0] if i18n.current() == "zh_CN" else pair[1]


def cell(value: Any, field_type: str = "string") -> str:
    """A value of a data table as the reader expects it: decimals without the engine's trailing zeros, grouped by
    the locale; everything else exactly as the gateway sent it (codes and identifiers keep their digits)."""
    if value is None:
        return ""
    if field_type == "decimal":
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            return str(value)
        return format_decimal(number, format="#,##0.##########", locale=i18n.current())  # every digit kept
    return str(value)


def problem_text(error: Exception) -> str:
    """What a form shows when a use case (or the input's model) refused it."""
    if isinstance(error, SluiceError):
        return error.message
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', '')}"
    return str(error)


def problem_status(error: Exception) -> int:
    """The status a refused form is shown with: the API's for the use case's error (403, 404, 409, 413, …),
    422 for input the models refused."""
    return status_for(error) if isinstance(error, SluiceError) else 422


def pick(item: Any, name: str) -> str:
    """``item.<name>_zh`` or ``item.<name>_en`` by the reader's language (the other when it is empty)."""
    zh, en = getattr(item, f"{name}_zh", ""), getattr(item, f"{name}_en", "")
    first, second = (zh, en) if i18n.current() == "zh_CN" else (en, zh)
    return str(first or second or "")


FACET_VOCABULARIES: dict[str, type[StrEnum]] = {
    "category": Category,
    "sharing_type": SharingType,
    "open_type": OpenType,
    "grade": Grade,
}


def facet_title(name: str) -> str:
    titles = {
        "organisation": _("Department"),
        "category": _("Category"),
        "tag": _("Topic"),
        "sharing_type": _("Sharing"),
        "open_type": _("Openness"),
        "grade": _("Grade"),
        "format": _("Format"),
    }
    return titles.get(name, name)


def facet_value(name: str, value: str, organisations: dict[str, str] | None = None) -> str:
    vocabulary = FACET_VOCABULARIES.get(name)
    if vocabulary is not None and value in vocabulary._value2member_map_:
        return label(vocabulary(value))
    if name == "organisation" and organisations:
        return organisations.get(value, value)
    return value


def version_status(status: str) -> str:
    """A version's (or ingestion's) status in the reader's language."""
    titles = {
        "processing": _("processing"),
        "held": _("held for a decision on personal data"),
        "published": _("published"),
        "rejected": _("rejected"),
        "failed": _("failed"),
        "expired": _("expired"),
        "deleted": _("deleted"),
    }
    return titles.get(status, status)


def mode_title(mode: str) -> str:
    titles = {
        "replace": _("replace: the file is the whole new version"),
        "append": _("append: add the file's records to the serving version"),
        "upsert": _("upsert: add new records, replace those with the same key"),
    }
    return titles.get(mode, mode)


def on_error_title(choice: str) -> str:
    titles = {
        "reject": _("reject the whole version"),
        "quarantine": _("keep them aside (quarantine) and publish the rest"),
    }
    return titles.get(choice, choice)


def pii_kind(kind: str) -> str:
    titles = {
        "resident_id": _("resident identity numbers"),
        "mobile": _("mobile numbers"),
        "bank_card": _("bank card numbers"),
        "credit_code": _("social credit codes"),
        "name": _("personal names"),
        "address": _("addresses"),
    }
    return titles.get(kind, kind)


def feedback_kind(kind: str) -> str:
    titles = {"error": _("error in the data"), "question": _("question"), "suggestion": _("suggestion")}
    return titles.get(kind, kind)


def language_of(request: Request) -> str:
    return i18n.choose(
        request.query_params.get("lang"),
        request.cookies.get(i18n.LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
    )


def render(request: Request, who: Visitor, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    locale = language_of(request)
    i18n.use(locale)
    page = (
        environment()
        .get_template(template)
        .render(
            request=request,
            who=who,
            csrf=who.csrf_token,
            path=request.url.path,
            query_with_lang=lambda tag: _with_lang(request, tag),
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status, headers=SECURITY_HEADERS)
    if who.signed_in:  # granted rows, applications, the log: not for a shared machine's cache
        response.headers["Cache-Control"] = "no-store"
    remember(response, request, who)
    if request.query_params.get("lang") and i18n.normalise(request.query_params["lang"]):
        response.set_cookie(i18n.LANGUAGE_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _with_lang(request: Request, tag: str) -> str:
    """This page's query string, asking for language ``tag``."""
    return urlencode([*((k, v) for k, v in request.query_params.multi_items() if k != "lang"), ("lang", tag)])
