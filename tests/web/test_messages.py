"""Every message the portal shows has its Chinese text, and the language of a request is chosen as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from sluice.web import i18n

WEB = Path(i18n.__file__).parent


def extracted() -> set[str]:
    """The message ids in the templates and the portal's Python, as `make messages` finds them."""
    with (WEB / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(WEB), method_map, options_map):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_has_its_chinese_text() -> None:
    with i18n.catalog_path("zh_CN").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string or ())) and not m.fuzzy
    }
    found = extracted()
    assert len(found) > 50
    missing = sorted(found - translated)
    assert not missing, f"untranslated (run `make messages`, then translate): {missing}"


def test_plural_and_placeholders_survive_translation() -> None:
    i18n.use("zh_CN")
    assert i18n.ngettext("%(num)d dataset", "%(num)d datasets", 3) % {"num": 3} == "3 个数据集"
    i18n.use("en")
    assert i18n.ngettext("%(num)d dataset", "%(num)d datasets", 1) % {"num": 1} == "1 dataset"
    assert i18n.ngettext("%(num)d dataset", "%(num)d datasets", 3) % {"num": 3} == "3 datasets"
    i18n.use("zh_CN")


@pytest.mark.parametrize(
    ("asked", "cookie", "header", "chosen"),
    [
        (None, None, None, "zh_CN"),
        ("en", None, None, "en"),
        ("zh-CN", "en", "en", "zh_CN"),
        (None, "en", "zh-CN", "en"),
        (None, None, "fr-FR, en;q=0.8, zh;q=0.9", "zh_CN"),
        (None, None, "en-GB,en;q=0.9", "en"),
        (None, None, "de, fr;q=0.5", "zh_CN"),
        ("klingon", None, "en;q=bogus, fr", "en"),
        (None, None, "zh-Hant-TW", "zh_CN"),
    ],
)
def test_the_language_of_a_request(asked: str | None, cookie: str | None, header: str | None, chosen: str) -> None:
    assert i18n.choose(asked, cookie, header) == chosen


def test_dates_and_numbers_follow_the_language() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 10, 1, 2, 30, tzinfo=UTC)
    i18n.use("zh_CN")
    assert i18n.local_time(moment) == "2026年10月1日 10:30:00"  # China time
    assert i18n.number(1234567) == "1,234,567"
    i18n.use("en")
    assert i18n.local_time(moment) == "Oct 1, 2026, 10:30:00\u202fAM"
    i18n.use("zh_CN")
