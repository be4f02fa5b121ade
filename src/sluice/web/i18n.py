"""The portal's languages: zh-CN (the default) and English.

Message ids are English, written in the templates and in ``sluice.web``'s Python with ``_()``; the Chinese
text lives in ``locale/zh_CN/LC_MESSAGES/messages.po`` (Babel's format; ``make messages`` extracts new ids and
merges them in). The catalog is read from the ``.po`` file when first needed — nothing is compiled at build
time. A test fails when a message has no Chinese translation.

The language of a request: ``?lang=`` (which the switch in every page's header sets as a cookie), else the
cookie, else the browser's ``Accept-Language``, else Chinese. Dates are shown in China time.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANGUAGE_COOKIE = "sluice_lang"
CHINA = ZoneInfo("Asia/Shanghai")
CATALOGS = Path(__file__).parent / "locale"

_current: ContextVar[str] = ContextVar("sluice_locale", default=DEFAULT_LOCALE)


def catalog_path(locale: str) -> Path:
    return CATALOGS / locale / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The catalog of ``locale`` (English needs none: its message ids are the text)."""
    path = catalog_path(locale)
    if not path.exists():
        return gettext_module.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def normalise(tag: str | None) -> str | None:
    """``zh-CN``, ``zh_cn``, ``zh-Hans``, ``zh`` → ``zh_CN``; ``en-GB`` → ``en``; others → None."""
    if not tag:
        return None
    try:
        parsed = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        return "zh_CN"
    return "en" if parsed.language == "en" else None


def choose(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    for tag in (asked, cookie):
        chosen = normalise(tag)
        if chosen:
            return chosen
    for tag, _weight in _accepted(accept_language or ""):
        chosen = normalise(tag)
        if chosen:
            return chosen
    return DEFAULT_LOCALE


def _accepted(header: str) -> list[tuple[str, float]]:
    """``Accept-Language`` entries, most wanted first (a malformed weight counts as 0)."""
    entries: list[tuple[str, float]] = []
    for part in header.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*":
            entries.append((tag, weight))
    return sorted(entries, key=lambda entry: -entry[1])


def use(locale: str) -> None:
    """Make ``locale`` the language of what this request renders."""
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(current()).ngettext(singular, plural, count)


_ = gettext


def html_lang() -> str:
    return "zh-CN" if current() == "zh_CN" else "en"


def local_time(value: datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(CHINA), style, tzinfo=CHINA, locale=current())


def local_date(value: date | None) -> str:
    return "" if value is None else format_date(value, "medium", locale=current())


def number(value: float | int | None) -> str:
    return "" if value is None else format_decimal(value, locale=current())


FILE_SIZE_UNITS = ("B", "KB", "MB", "GB", "TB")


def file_size(value: int | None) -> str:
    """Bytes as the reader reads sizes: 1,234 B, 12.3 MB (powers of 1 024)."""
    if value is None:
        return ""
    size, unit = float(value), 0
    while size >= 1024 and unit < len(FILE_SIZE_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    shown = format_decimal(size, format="#,##0" if unit == 0 else "#,##0.#", locale=current())
    return f"{shown} {FILE_SIZE_UNITS[unit]}"


def duration(end: datetime | None, start: datetime | None) -> str:
    """How long from ``start`` to ``end``, in the reader's language (e.g. "2.5 s", "3 min")."""
    if end is None or start is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 120:
        return gettext("%(num)s s") % {"num": format_decimal(seconds, format="#,##0.#", locale=current())}
    return gettext("%(num)s min") % {"num": format_decimal(seconds / 60, format="#,##0", locale=current())}
