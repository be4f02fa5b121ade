"""The portal's SVG charts: structure, words for screen readers, escaping, empty data, truncation, refusals."""

from __future__ import annotations

import math
import re
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from sluice.web.charts import PALETTE, Bar, Bin, Series, bar_chart, histogram, line_chart

NS = "{http://www.w3.org/2000/svg}"
TAGS = {"svg", "title", "desc", "text", "g", "rect", "line", "polyline"}
HOSTILE = ["<script>alert(1)</script>", '"onload="alert(1)', "'x' & y", "]]>", "a\r\nb\tc", "<![CDATA[x]]>"]


def parse(svg: str) -> ET.Element:
    root: ET.Element = fromstring(svg)
    return root


def find_all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(NS + tag) if cls is None or e.get("class") == cls]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in find_all(root, "text", cls)]


def mark_titles(root: ET.Element, cls: str = "mark") -> list[str]:
    return [g.findtext(NS + "title") or "" for g in find_all(root, "g", cls)]


def units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def thousands(v: float) -> str:
    return f"{v:,.0f}"


def test_bars_are_proportional_and_the_largest_spans_the_plot() -> None:
    bars = [Bar("户籍人口", 1234), Bar("流动人口", 617), Bar("境外人员", 0), Bar("other", 308.5)]
    root = parse(bar_chart(bars, title="人口", empty_text="无数据"))
    rects = find_all(root, "rect", "bar")
    assert len(rects) == len(bars)
    widths = [float(r.get("width", "")) for r in rects]
    (axis,) = find_all(root, "line", "axis")
    plot_left, plot_right = float(axis.get("x1", "")), float(axis.get("x2", ""))
    largest = rects[0]
    assert float(largest.get("x", "")) == plot_left
    assert float(largest.get("x", "")) + widths[0] == pytest.approx(plot_right, abs=0.1)
    for bar, width in zip(bars, widths, strict=True):
        assert width == pytest.approx((plot_right - plot_left) * bar.value / 1234, abs=0.1)
    assert texts(root, "label") == ["户籍人口", "流动人口", "境外人员", "other"]
    assert texts(root, "value") == ["1234", "617", "0", "308.5"]
    assert mark_titles(root) == [b.label for b in bars]


def test_the_root_is_an_accessible_scalable_image() -> None:
    svg = bar_chart(
        [Bar("户籍人口", 1234), Bar("流动人口", 56)], title="人口构成", empty_text="无数据", value_label=thousands
    )
    root = parse(svg)
    assert root.tag == NS + "svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 480 \d+(\.\d)?", root.get("viewBox", ""))
    assert root.get("font-family") == "system-ui, sans-serif"
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert by_id[root.get("aria-labelledby")].tag == NS + "title"
    assert by_id[root.get("aria-labelledby")].text == "人口构成"
    assert by_id[root.get("aria-describedby")].tag == NS + "desc"
    assert by_id[root.get("aria-describedby")].text == "户籍人口: 1,234; 流动人口: 56"
    assert root[0].tag == NS + "title", "the title comes first"
    sizes = {int(t.get("font-size", "")) for t in root.iter(NS + "text")}
    assert sizes <= {12, 13, 14}
    assert {t.get("fill") for t in root.iter(NS + "text")} <= {"#333333", "#595959"}


def test_long_data_is_described_in_part() -> None:
    bars = [Bar(f"item {i}", i) for i in range(100)]
    desc = parse(bar_chart(bars, title="t", empty_text="-")).findtext(NS + "desc") or ""
    assert desc.startswith("item 0: 0; item 1: 1; ")
    assert desc.endswith("; item 19: 19; …")
    assert "item 20" not in desc
    assert len(find_all(parse(bar_chart(bars, title="t", empty_text="-")), "rect", "bar")) == 100


def test_histogram_bars_ticks_and_words() -> None:
    bins = [Bin(0, 10, 5), Bin(10, 20, 20), Bin(20, 30, 0), Bin(30, 40, 10)]
    root = parse(
        histogram(bins, title="年龄", empty_text="无数据", value_label=thousands, number_label=lambda x: f"{x:.0f}岁")
    )
    rects = find_all(root, "rect", "bar")
    assert len(rects) == 4
    heights = [float(r.get("height", "")) for r in rects]
    assert heights[2] == 0
    assert heights[0] == pytest.approx(heights[1] / 4, abs=0.1)
    assert heights[3] == pytest.approx(heights[1] / 2, abs=0.1)
    bottoms = {round(float(r.get("y", "")) + h, 1) for r, h in zip(rects, heights, strict=True)}
    assert len(bottoms) == 1, "bars stand on one baseline"
    assert texts(root, "tick") == ["0岁", "10岁", "20岁", "30岁", "40岁"]
    assert texts(root, "count") == ["5", "20", "0", "10"]
    assert mark_titles(root) == ["0岁–10岁: 5", "10岁–20岁: 20", "20岁–30岁: 0", "30岁–40岁: 10"]
    assert root.findtext(NS + "desc") == "0岁–10岁: 5; 10岁–20岁: 20; 20岁–30岁: 0; 30岁–40岁: 10"


def test_histogram_with_many_bins_thins_its_ticks_and_drops_counts() -> None:
    bins = [Bin(i * 1000, (i + 1) * 1000, 1000 + i) for i in range(60)]
    root = parse(histogram(bins, title="t", empty_text="-"))
    assert len(find_all(root, "rect", "bar")) == 60
    ticks = texts(root, "tick")
    assert ticks[0] == "0"
    assert 2 <= len(ticks) < 20
    assert texts(root, "count") == []
    assert mark_titles(root)[0] == "0–1000: 1000", "each bar still names its bin and count on hover"


def test_line_chart_lines_legend_and_words() -> None:
    days = ["05-01", "05-02", "05-03"]
    series = [Series("教育局", [3, 0, 7]), Series("卫健委", [1, 2, 1])]
    root = parse(line_chart(series, title="每日流转", x_labels=days, empty_text="无数据"))
    lines = find_all(root, "polyline", "line")
    assert len(lines) == 2
    assert [ln.get("stroke") for ln in lines] == list(PALETTE[:2])
    points = [[tuple(map(float, p.split(","))) for p in (ln.get("points") or "").split()] for ln in lines]
    assert [len(p) for p in points] == [3, 3]
    (axis,) = find_all(root, "line", "axis")
    base = float(axis.get("y1", ""))
    assert points[0][1][1] == base, "a zero sits on the axis"
    assert points[0][0][0] == float(axis.get("x1", ""))
    assert points[0][2][0] == float(axis.get("x2", ""))
    assert points[0][2][1] < points[0][0][1] < base, "larger values are higher"
    assert texts(root, "legend") == ["教育局", "卫健委"]
    assert mark_titles(root, "series") == ["教育局", "卫健委"]
    assert texts(root, "tick")[:3] == ["0", "2", "4"], "gridlines at round steps (whole numbers for counts)"
    assert root.findtext(NS + "desc") == "教育局 — 05-01: 3, 05-02: 0, 05-03: 7; 卫健委 — 05-01: 1, 05-02: 2, 05-03: 1"


def test_eight_series_get_eight_colours_and_a_ninth_is_refused() -> None:
    days = ["a", "b"]
    eight = [Series(f"s{i}", [i, i + 1]) for i in range(8)]
    root = parse(line_chart(eight, title="t", x_labels=days, empty_text="-"))
    assert len({ln.get("stroke") for ln in find_all(root, "polyline", "line")}) == 8
    with pytest.raises(ValueError, match="at most 8 series"):
        line_chart([*eight, Series("s8", [1, 1])], title="t", x_labels=days, empty_text="-")


@pytest.mark.parametrize(
    "svg",
    [
        pytest.param(bar_chart([], title="人口", empty_text="暂无数据"), id="no bars"),
        pytest.param(histogram([], title="人口", empty_text="暂无数据"), id="no bins"),
        pytest.param(histogram([Bin(0, 1, 0), Bin(1, 2, 0)], title="人口", empty_text="暂无数据"), id="zero counts"),
        pytest.param(line_chart([], title="人口", x_labels=["a", "b"], empty_text="暂无数据"), id="no series"),
        pytest.param(
            line_chart([Series("x", [5])], title="人口", x_labels=["a"], empty_text="暂无数据"), id="one point"
        ),
        pytest.param(line_chart([Series("x", [])], title="人口", x_labels=[], empty_text="暂无数据"), id="no points"),
    ],
)
def test_empty_data_says_so_in_the_callers_words(svg: str) -> None:
    root = parse(svg)
    assert texts(root, "empty") == ["暂无数据"]
    assert root.findtext(NS + "desc") == "暂无数据"
    assert root.findtext(NS + "title") == "人口"
    assert find_all(root, "rect") == []
    assert find_all(root, "polyline") == []


def test_all_zero_bars_are_still_drawn_as_zeros() -> None:
    root = parse(bar_chart([Bar("a", 0), Bar("b", 0)], title="空值", empty_text="-"))
    assert [r.get("width") for r in find_all(root, "rect", "bar")] == ["0", "0"]
    assert texts(root, "value") == ["0", "0"]


def test_long_labels_are_shortened_counting_cjk_as_double_width() -> None:
    cjk, latin = "很" * 60, "x" * 60
    root = parse(bar_chart([Bar(cjk, 2), Bar(latin, 1), Bar("短标签", 1)], title="t", empty_text="-"))
    shown_cjk, shown_latin, short = texts(root, "label")
    assert short == "短标签"
    assert shown_cjk.endswith("…")
    assert shown_latin.endswith("…")
    assert shown_latin.startswith("xxxx")
    assert units(shown_latin) <= 480 * 0.4 / (13 * 0.6)
    assert len(shown_cjk) - 1 == (len(shown_latin) - 1) // 2, "a CJK character takes the room of two"
    assert mark_titles(root)[:2] == [cjk, latin], "the full label is kept for hovering"
    assert root.findtext(NS + "desc") == f"{cjk}: 2; {latin}: 1; 短标签: 1"


def test_a_long_title_is_shortened_on_the_page_but_kept_whole_for_screen_readers() -> None:
    title = "各部门数据共享流转情况统计" * 10
    root = parse(bar_chart([Bar("a", 1)], title=title, empty_text="-"))
    assert root.findtext(NS + "title") == title
    (shown,) = texts(root, "title")
    assert shown.endswith("…")
    assert units(shown) * 14 * 0.6 <= 480 - 16


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_negative_nan_or_infinite_values_are_refused_by_label(value: float) -> None:
    with pytest.raises(ValueError, match="流动人口"):
        bar_chart([Bar("户籍人口", 1), Bar("流动人口", value)], title="t", empty_text="-")
    with pytest.raises(ValueError, match="教育局 05-02"):
        line_chart([Series("教育局", [1, value])], title="t", x_labels=["05-01", "05-02"], empty_text="-")


def test_bad_bins_and_ragged_series_are_refused() -> None:
    with pytest.raises(ValueError, match="10–20"):
        histogram([Bin(0, 10, 1), Bin(10, 20, -3)], title="t", empty_text="-")
    with pytest.raises(ValueError, match="nan–1"):
        histogram([Bin(math.nan, 1, 1)], title="t", empty_text="-")
    with pytest.raises(ValueError, match="卫健委"):
        line_chart([Series("卫健委", [1, 2, 3])], title="t", x_labels=["a", "b"], empty_text="-")


def every_chart(text: str, value: float = 3) -> list[str]:
    """Every kind of chart, with text wherever the caller supplies any."""
    return [
        bar_chart([Bar(text, value), Bar("b", 1)], title=text, empty_text=text, value_label=lambda _: text),
        bar_chart([], title=text, empty_text=text),
        histogram([Bin(0, 1, 2)], title=text, empty_text=text, value_label=lambda _: text, number_label=lambda _: text),
        line_chart(
            [Series(text, [value, 1])], title=text, x_labels=[text, text], empty_text=text, value_label=lambda _: text
        ),
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_escaped_and_round_trips(text: str) -> None:
    for svg in every_chart(text):
        assert "<script" not in svg
        assert "<![CDATA[" not in svg
        root = parse(svg)
        assert root.findtext(NS + "title") == text
        assert root.findtext(NS + "desc", "").startswith(text)
        assert {e.tag.removeprefix(NS) for e in root.iter()} <= TAGS
        assert all(not name.startswith("on") for e in root.iter() for name in e.attrib)
    root = parse(bar_chart([Bar(text, 1)], title="t", empty_text="-", width=800))
    assert mark_titles(root) == [text]
    assert texts(root, "label") == [text]


XML_CHAR = st.characters(exclude_categories=["Cs"]).filter(
    lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff")
)


@given(
    labels=st.lists(st.text(XML_CHAR), max_size=5),
    values=st.lists(st.floats(min_value=0, max_value=1e12), min_size=5, max_size=5),
    title=st.text(XML_CHAR),
)
def test_any_labels_and_values_parse_and_round_trip(labels: list[str], values: list[float], title: str) -> None:
    bars = [Bar(label, value) for label, value in zip(labels, values, strict=False)]
    root = parse(bar_chart(bars, title=title, empty_text=title))
    assert root.findtext(NS + "title") == title
    assert mark_titles(root) == labels
    assert len(find_all(root, "rect", "bar")) == len(labels)
    if labels:
        series = [Series(label, values[:2]) for label in labels]
        root = parse(line_chart(series, title=title, x_labels=labels[:1] * 2, empty_text="-"))
        assert mark_titles(root, "series") == labels


NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@given(text=st.text(st.characters(codec=None)) | st.sampled_from(["\x00", "a\ud800b", "\uffff", "\x1b[31m"]))
def test_characters_xml_cannot_carry_are_replaced_not_fatal(text: str) -> None:
    for svg in every_chart(text):
        root = parse(svg)
        assert (root.findtext(NS + "title") or "") == NOT_XML.sub("\ufffd", text)


def test_output_is_deterministic_and_coordinates_have_one_decimal() -> None:
    def make() -> list[str]:
        return [
            bar_chart([Bar("a", 1 / 3), Bar("b", 2 / 3)], title="t", empty_text="-"),
            histogram([Bin(0, 1 / 3, 7), Bin(1 / 3, 2 / 3, 3)], title="t", empty_text="-"),
            line_chart([Series("s", [1 / 3, 2 / 7, 0.1])], title="t", x_labels=["a", "b", "c"], empty_text="-"),
        ]

    first, second = make(), make()
    assert first == second
    for svg in first:
        for name, value in re.findall(r' (x|y|x1|y1|x2|y2|width|height)="([^"]*)"', svg):
            assert re.fullmatch(r"-?\d+(\.\d)?|100%", value), (name, value)
        for points in re.findall(r'points="([^"]*)"', svg):
            assert all(re.fullmatch(r"\d+(\.\d)?,\d+(\.\d)?", p) for p in points.split())


def test_different_charts_on_one_page_have_different_ids() -> None:
    one = parse(bar_chart([Bar("a", 1)], title="t", empty_text="-"))
    other = parse(bar_chart([Bar("a", 2)], title="t", empty_text="-"))
    assert one.get("aria-labelledby") != other.get("aria-labelledby")
