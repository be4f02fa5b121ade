"""A version's profile (``lake.profile``) as charts for the dataset page: empty values per field, then the most
frequent values or the distribution of a few fields. The lake decides who may see a profile (open data, or the
provider); this module only draws what it was given."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from sluice.catalog.schemas import ResourcePublic
from sluice.lake.schemas import ColumnProfile, Profile
from sluice.web import charts, i18n
from sluice.web.i18n import _

MOST_CHARTS = 6  # per page, after the empty-values chart
TOP_VALUES = 8


@dataclass(frozen=True)
class Chart:
    heading: str
    svg: Markup


def profile_charts(resource: ResourcePublic, profile: Profile | None) -> list[Chart]:
    if profile is None or not profile.columns:
        return []
    titles = {field.name: _title(field.title_zh, field.title_en) for field in resource.fields}
    found = [_empty_values(profile, titles)]
    for column in profile.columns:
        chart = _column_chart(column, titles.get(column.field, column.field))
        if chart is not None:
            found.append(chart)
        if len(found) > MOST_CHARTS:
            break
    return found


def _title(zh: str, en: str) -> str:
    return (zh or en) if i18n.current() == "zh_CN" else (en or zh)


def _empty_values(profile: Profile, titles: dict[str, str]) -> Chart:
    heading = _("Empty values per field (of %(rows)s rows)") % {"rows": i18n.number(profile.rows)}
    bars = [charts.Bar(titles.get(c.field, c.field), c.nulls) for c in profile.columns]
    return Chart(heading, _svg(charts.bar_chart(bars, title=heading, empty_text=_("No data"), value_label=i18n.number)))


def _column_chart(column: ColumnProfile, title: str) -> Chart | None:
    if column.top:
        heading = _("Most frequent values of “%(field)s”") % {"field": title}
        bars = [charts.Bar(str(value), count) for value, count in column.top[:TOP_VALUES]]
        svg = charts.bar_chart(bars, title=heading, empty_text=_("No data"), value_label=i18n.number)
        return Chart(heading, _svg(svg))
    histogram = column.histogram
    if histogram is None or len(histogram.edges) != len(histogram.counts) + 1:
        return None
    try:
        edges = [float(edge) for edge in histogram.edges]
    except (TypeError, ValueError):
        return None
    kinds = {
        "length": _("Length of “%(field)s”"),
        "year": _("Years of “%(field)s”"),
        "value": _("Distribution of “%(field)s”"),
    }
    heading = kinds.get(histogram.kind, kinds["value"]) % {"field": title}
    bins = [charts.Bin(edges[i], edges[i + 1], count) for i, count in enumerate(histogram.counts)]
    plain = histogram.kind == "year"
    svg = charts.histogram(
        bins,
        title=heading,
        empty_text=_("No data"),
        value_label=i18n.number,
        number_label=(lambda x: f"{x:.0f}") if plain else i18n.number,
    )
    return Chart(heading, _svg(svg))


def _svg(text: str) -> Markup:
    """The chart module escapes every text it draws, so its output is markup as it stands."""
    return Markup(text)  # noqa: S704 - escaped by sluice.web.charts (tested there with hostile labels)
