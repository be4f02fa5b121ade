"""Charts for the portal's pages, as hand-written SVG strings.

Why not matplotlib: it draws text as glyph outlines from the fonts it finds on the *server* (a server without CJK
fonts turns Chinese labels into boxes), and it is a heavy import. Here a chart is a little plain SVG: its text
stays ``<text>``, drawn by the reader's browser with the reader's fonts; nothing is fetched from the internet; the
functions are pure and deterministic (same input, same bytes) with coordinates rounded to one decimal.

Every piece of text from the caller is XML-escaped here (characters XML cannot carry become U+FFFD), so a template
embeds the result as is (``{{ chart | safe }}``). Numbers shown to the reader are formatted by the caller's
``value_label`` / ``number_label`` (e.g. Babel's ``format_decimal`` for the page's locale) and the "no data" words
are the caller's ``empty_text``: this module knows no language. Values are never negative: a negative, NaN or
infinite value is refused with ``ValueError`` naming its label.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["PALETTE", "Bar", "Bin", "Format", "Series", "bar_chart", "histogram", "line_chart"]

Format = Callable[[float], str]  # how a number is shown to the reader, e.g. Babel's format_decimal for a locale

# Okabe–Ito (colour-blind safe), darkest first; series get them in this order.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9", "#F0E442")
TEXT, MUTED = "#333333", "#595959"  # on white: 12.6 and 7.0 : 1
LINES = {"axis": "#767676", "baseline": "#767676", "grid": "#E5E5E5"}
FONT, SMALL = 13, 12  # px: label and value text; ticks, counts and legend
_SIZES = {"title": 14, "label": FONT, "value": FONT, "empty": FONT, "count": SMALL, "legend": SMALL, "tick": SMALL}
PAD, GAP, TITLE_H = 8.0, 6.0, 28.0
CHAR_EM = 0.6  # estimated width of a narrow character, in em; a wide (CJK) one counts twice
DESC_ITEMS = 20  # the description names at most this many items, then "…"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _plain(x: float) -> str:
    return f"{x:g}"


def _esc(text: str) -> str:
    """Text safe in XML content and in a quoted attribute; a carriage return survives parsing."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True).replace("\r", "&#13;")


def _n(x: float) -> str:
    """A coordinate, rounded to one decimal, without a trailing ".0" or a "-0"."""
    return f"{round(x, 1) + 0.0:.1f}".removesuffix(".0")


def _units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _px(text: str, size: float) -> float:
    return _units(text) * size * CHAR_EM


def _fit(text: str, max_px: float, size: float) -> str:
    """The text, or as much of its head as fits in max_px followed by an ellipsis."""
    budget = max_px / (size * CHAR_EM) + 1e-6
    if _units(text) <= budget:
        return text
    head: list[str] = []
    used = 1  # the ellipsis
    for ch in text:
        used += _units(ch)
        if used > budget:
            break
        head.append(ch)
    return "".join(head) + "…"


def _text(cls: str, x: float, y: float, content: str, anchor: str = "start", *, fit: float = math.inf) -> str:
    """A line of text of a class in _SIZES, its vertical middle at y, shortened to fit that many pixels."""
    size, colour = _SIZES[cls], MUTED if cls in {"tick", "empty"} else TEXT
    weight = ' font-weight="600"' if cls == "title" else ""
    return (
        f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}" dy="0.35em" font-size="{size}"{weight} fill="{colour}"'
        f' text-anchor="{anchor}">{_esc(_fit(content, fit, size))}</text>'
    )


def _line(cls: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="{cls}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{LINES[cls]}"/>'


def _mark(tooltip: str, *parts: str, cls: str = "mark") -> str:
    """One datum's group; its <title> (the full label) is what hovering shows."""
    return "\n".join([f'<g class="{cls}">', f"<title>{_esc(tooltip)}</title>", *parts, "</g>"])


def _describe(pairs: Sequence[tuple[str, str]], sep: str = "; ") -> str:
    """The data in words: "label: value" pairs, the first DESC_ITEMS of them."""
    items = [f"{label}: {value}" for label, value in pairs[:DESC_ITEMS]]
    return sep.join(items + (["…"] if len(pairs) > DESC_ITEMS else []))


def _check(label: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"chart value for {label!r} must be a finite number ≥ 0, not {value!r}")


def _svg(title: str, desc: str, width: float, height: float, body: Sequence[str]) -> str:
    """The root element; its ids come from a hash of the chart, so two different charts on a page differ."""
    svg = "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_n(width)} {_n(height)}"'
            ' width="100%" role="img" aria-labelledby="\0-title" aria-describedby="\0-desc"'
            ' font-family="system-ui, sans-serif">',
            f'<title id="\0-title">{_esc(title)}</title>',
            f'<desc id="\0-desc">{_esc(desc)}</desc>',
            _text("title", PAD, TITLE_H / 2, title, fit=width - 2 * PAD),
            *body,
            "</svg>",
        ]
    )
    return svg.replace("\0", "chart-" + hashlib.sha256(svg.encode()).hexdigest()[:12])


def _empty(title: str, empty_text: str, width: float, height: float) -> str:
    shown = _text("empty", width / 2, (height + TITLE_H) / 2, empty_text, "middle", fit=width - 2 * PAD)
    return _svg(title, empty_text, width, height, [shown])


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    empty_text: str,
    value_label: Format = _plain,
    width: int = 480,
    bar_height: int = 22,
) -> str:
    """Horizontal bars, largest value spanning the plot: label on the left, formatted value at the bar's end."""
    for bar in bars:
        _check(bar.label, bar.value)
    if not bars:
        return _empty(title, empty_text, width, TITLE_H + 3 * bar_height)
    shown = [value_label(bar.value) for bar in bars]
    label_w = min(max(_px(bar.label, FONT) for bar in bars), width * 0.4)
    x0 = round(PAD + label_w + GAP, 1)
    plot_w = round(max(width - x0 - 2 * GAP - max(_px(s, FONT) for s in shown) - PAD, width * 0.2), 1)
    row = bar_height + GAP
    bottom = TITLE_H + row * len(bars)
    peak = max(bar.value for bar in bars)
    body = []
    for i, (bar, value) in enumerate(zip(bars, shown, strict=True)):
        y, w = TITLE_H + i * row, plot_w * bar.value / peak if peak else 0.0
        rect = f'<rect class="bar" x="{_n(x0)}" y="{_n(y)}" width="{_n(w)}" height="{bar_height}" fill="{PALETTE[0]}"/>'
        mid = y + bar_height / 2
        label = _text("label", x0 - GAP, mid, bar.label, "end", fit=label_w)
        body.append(_mark(bar.label, label, rect, _text("value", x0 + w + GAP, mid, value)))
    body.append(_line("baseline", x0, TITLE_H - GAP / 2, x0, bottom))
    body.append(_line("axis", x0, bottom, x0 + plot_w, bottom))
    return _svg(title, _describe([(b.label, s) for b, s in zip(bars, shown, strict=True)]), width, bottom + PAD, body)


def histogram(
    bins: Sequence[Bin],
    *,
    title: str,
    empty_text: str,
    value_label: Format = _plain,
    number_label: Format = _plain,
    width: int = 480,
    height: int = 200,
) -> str:
    """Vertical bars of equal width, one per bin, bin edges as ticks; counts above the bars where they fit."""
    names = [f"{number_label(b.low)}–{number_label(b.high)}" for b in bins]
    for b, name in zip(bins, names, strict=True):
        _check(name, b.count)
        if not b.low <= b.high:  # NaN too
            raise ValueError(f"bin {name!r} must have low ≤ high")
    if not any(b.count for b in bins):
        return _empty(title, empty_text, width, height)
    ticks = [number_label(bins[0].low), *(number_label(b.high) for b in bins)]
    counts = [value_label(b.count) for b in bins]
    tick_w = max(_px(t, SMALL) for t in ticks)
    left = round(PAD + min(tick_w / 2, width * 0.15), 1)
    plot_w = width - 2 * left
    slot, base = plot_w / len(bins), height - 24.0
    top = TITLE_H + 16
    peak = max(b.count for b in bins)
    label_counts = max(_px(c, SMALL) for c in counts) <= slot - 2
    body = []
    for i, (b, name, count) in enumerate(zip(bins, names, counts, strict=True)):
        x, h = left + i * slot, (base - top) * b.count / peak
        rect = f'<rect class="bar" x="{_n(x + 0.5)}" y="{_n(base - h)}" width="{_n(max(slot - 1, 0.5))}" height="{_n(h)}" fill="{PALETTE[0]}"/>'
        above = [_text("count", x + slot / 2, base - h - 8, count, "middle")] if label_counts else []
        body.append(_mark(f"{name}: {count}", rect, *above))
    every = math.ceil((tick_w + GAP) / slot)
    body += [_text("tick", left + j * slot, base + 12, ticks[j], "middle") for j in range(0, len(ticks), every)]
    body.append(_line("axis", left, base, left + plot_w, base))
    return _svg(title, _describe(list(zip(names, counts, strict=True))), width, height, body)


def _scale(peak: float, integral: bool) -> list[float]:
    """Gridline values from 0 to a round number at or above the peak, about four steps."""
    raw = max(peak, 1e-9) / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    step = max(step, 1.0) if integral else step
    return [i * step for i in range(max(1, math.ceil(peak / step - 1e-9)) + 1)]


def _legend(series: Sequence[Series], width: float) -> tuple[list[str], float]:
    """Swatch and name per series, wrapping onto more rows; the height taken."""
    items, x, y = [], PAD, TITLE_H + 2
    for colour, s in zip(PALETTE, series, strict=False):
        name = _fit(s.name, width / 3, SMALL)
        w = 22 + _px(name, SMALL) + 14
        if x + w > width - PAD and x > PAD:
            x, y = PAD, y + 18
        swatch = f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 16)}" y2="{_n(y)}" stroke="{colour}" stroke-width="3"/>'
        items.append(_mark(s.name, swatch, _text("legend", x + 22, y, name), cls="legend-item"))
        x += w
    return items, y + 18 - TITLE_H


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_labels: Sequence[str],
    empty_text: str,
    width: int = 640,
    height: int = 240,
    value_label: Format = _plain,
) -> str:
    """One line per series over the shared x labels, from zero up; a legend on top. At most len(PALETTE) series."""
    if len(series) > len(PALETTE):
        raise ValueError(f"a line chart shows at most {len(PALETTE)} series, not {len(series)}; group the rest")
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(x_labels)} x labels")
        for x_label, value in zip(x_labels, s.values, strict=True):
            _check(f"{s.name} {x_label}", value)
    if not series or len(x_labels) < 2:
        return _empty(title, empty_text, width, height)
    grid = _scale(max(max(s.values) for s in series), all(float(v).is_integer() for s in series for v in s.values))
    grid_labels = [value_label(g) for g in grid]
    legend, legend_h = _legend(series, width)
    top = TITLE_H + legend_h + 8
    height = max(height, round(top) + 80)
    x_w = min(max(_px(x, SMALL) for x in x_labels), width * 0.25)
    left = round(max(PAD + max(_px(g, SMALL) for g in grid_labels) + GAP, PAD + x_w / 2), 1)
    plot_w, base = max(width - left - PAD - x_w / 2, width * 0.2), height - 24.0
    dx = plot_w / (len(x_labels) - 1)

    def y_of(value: float) -> float:
        return base - (base - top) * value / grid[-1]

    body = [_line("grid", left, y_of(g), left + plot_w, y_of(g)) for g in grid[1:]]
    body += [_text("tick", left - GAP, y_of(g), text, "end") for g, text in zip(grid, grid_labels, strict=True)]
    every = math.ceil((x_w + 2 * GAP) / dx)
    body += [
        _text("tick", left + i * dx, base + 12, x_labels[i], "middle", fit=x_w) for i in range(0, len(x_labels), every)
    ]
    body.append(_line("axis", left, base, left + plot_w, base))
    for colour, s in zip(PALETTE, series, strict=False):
        points = " ".join(f"{_n(left + i * dx)},{_n(y_of(v))}" for i, v in enumerate(s.values))
        line = f'<polyline class="line" points="{points}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round"/>'
        body.append(_mark(s.name, line, cls="series"))
    desc = "; ".join(
        f"{s.name} — {_describe([(x, value_label(v)) for x, v in zip(x_labels, s.values, strict=True)], ', ')}"
        for s in series
    )
    return _svg(title, desc, width, height, [*legend, *body])
