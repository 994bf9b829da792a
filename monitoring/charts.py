"""Chart definitions shared by the pages and the summit report: one definition, two renderings.

Each function returns a Vega-Lite spec (a plain dict, built with altair). A page embeds the spec and draws
it with the vendored Vega bundle (`static/vendor/vega/vega-bundle.js`, no CDN); the report turns the very
same spec into vector SVG with `chart_svg(spec)` (vl-convert, offline). Hover tooltips and legend toggles
are Vega-Lite selection parameters, so they work on the page and are harmless in the SVG.

The colour of an alert level is defined here once (`LEVEL_COLOURS`); the map, the matrix, the CSS and the
report use it, and every level is also written as text next to its colour.
"""

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import altair as alt
import vl_convert
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# The Vega-Lite schema altair 6 writes; the vendored bundle is built for the same version
# (`python manage.py vendor_chart_library`).
VEGA_LITE_VERSION = "6.4"
VENDORED_BUNDLE_PATH = "static/vendor/vega/vega-bundle.js"
VENDORED_BUNDLE_STATIC = "vendor/vega/vega-bundle.js"

# IPC/Cadre Harmonisé phase colours, the palette FEWS NET and HungerMap readers know: 1 minimal (green),
# 2 stressed (yellow), 3 crisis (orange), 4 emergency (red). Grey: no data or insufficient data.
LEVEL_COLOURS: dict[int | None, str] = {None: "#d9d9d9", 0: "#cdfacd", 1: "#fae61e", 2: "#e67800", 3: "#c80000"}
# Text drawn on a level colour, chosen for a contrast ratio of at least 4.5:1.
LEVEL_TEXT_COLOURS: dict[int | None, str] = {None: "#1a1a1a", 0: "#1a1a1a", 1: "#1a1a1a", 2: "#1a1a1a", 3: "#ffffff"}

# Okabe-Ito colour-blind-safe palette, one fixed colour per state so every chart agrees.
COUNTRY_COLOURS: dict[str, str] = {
    "KZ": "#0072B2",
    "KG": "#D55E00",
    "TJ": "#009E73",
    "TM": "#CC79A7",
    "UZ": "#E69F00",
}
OBSERVED_COLOUR = "#0072B2"
LAST_YEAR_COLOUR = "#7f7f7f"
AVERAGE_COLOUR = "#1a1a1a"


def level_label(level: int | None) -> str:
    """The level as a word in the active language (the unified scale of METHODS.md)."""
    labels = {None: _("no data"), 0: _("normal"), 1: _("watch"), 2: _("warning"), 3: _("emergency")}
    return labels.get(level, _("no data"))


@dataclass(frozen=True)
class Point:
    """One value of a series. `period` is the written period ('2021', '2021-Q3', '2021-07'); `start` its
    first day. `value` None marks a missing period, so the line breaks instead of bridging the gap."""

    period: str
    start: date
    value: float | None


@dataclass(frozen=True)
class Series:
    """A named line. `dash` draws it dashed (norms, averages); `colour` None picks from the palette."""

    name: str
    points: Sequence[Point]
    colour: str | None = None
    dash: bool = False


@dataclass(frozen=True)
class Threshold:
    """A horizontal line: a published band limit or a method's class boundary, coloured by its level."""

    value: float
    label: str
    level: int | None = None


@dataclass(frozen=True)
class Span:
    """A shaded stretch of time: the periods an alert was raised, coloured by its level."""

    start: date
    end: date
    level: int
    label: str = ""


@dataclass(frozen=True)
class ChartText:
    """Translated words the chart shows; defaults are gettext'd in the active language at build time."""

    period: str = ""
    value: str = ""
    series: str = ""
    alert: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=16)
def _locale(language: str) -> dict[str, Any]:
    """d3 number and time formats for the language (Russian month names and decimal comma)."""
    tag = {"ru": "ru-RU", "en": "en-US"}.get(language, "en-US")
    return {"number": vl_convert.get_format_locale(tag), "time": vl_convert.get_time_format_locale(tag)}


def _tick_count(frequency: str, periods: int) -> dict[str, Any]:
    # Ticks on whole periods only (a month or a year never shows twice on the axis), about eight of them.
    if frequency in ("annual", "quarterly"):
        return {
            "tickCount": {
                "interval": "year",
                "step": max(1, math.ceil(periods / (8 * (4 if frequency == "quarterly" else 1)))),
            }
        }
    step = next((step for step in (1, 2, 3, 6, 12, 24) if periods / step <= 10), 60)
    return {"tickCount": {"interval": "month", "step": step}}


def _date_format(frequency: str) -> str:
    return {"annual": "%Y", "quarterly": "%Y", "monthly": "%b %Y"}.get(frequency, "%Y")


def timeseries_chart(
    *,
    title: str,
    unit: str,
    series: Sequence[Series],
    thresholds: Iterable[Threshold] = (),
    spans: Iterable[Span] = (),
    frequency: str = "annual",
    height: int = 240,
    width: int | str = "container",
    description: str = "",
    validate: bool = False,
) -> dict[str, Any]:
    """A time-series chart: one or more lines (hover for values, click a legend entry to hide the others),
    horizontal threshold lines with their labels, and shaded alert periods.

    Used by the country page (observed, same period last year, 5-year average; thresholds or the seasonal
    norm; alert periods), the indicator page (the five states on one chart) and the summit report.
    `validate=True` checks the spec against the Vega-Lite schema (the tests do; pages skip the cost).
    """
    series = [one for one in series if any(point.value is not None for point in one.points)]
    palette = list(COUNTRY_COLOURS.values())
    datasets = {
        # One row per series with its points as parallel arrays, flattened by Vega-Lite in the browser: a
        # third of the bytes of one object per point (pages carry every point of every chart).
        "lines": [
            {
                "series": one.name,
                "period": [point.period for point in one.points],
                "date": [point.start.isoformat() for point in one.points],
                "value": [_rounded(point.value) for point in one.points],
            }
            for one in series
        ],
        "spans": [
            {
                "start": span.start.isoformat(),
                "end": span.end.isoformat(),
                "level": level_label(span.level),
                "label": span.label or level_label(span.level),
                "colour": LEVEL_COLOURS[span.level],
            }
            for span in spans
        ],
        "thresholds": [
            {"value": threshold.value, "label": threshold.label, "colour": _threshold_colour(threshold.level)}
            for threshold in thresholds
        ],
    }
    layout = _Layout(
        title=title,
        unit=unit,
        names=tuple(one.name for one in series),
        colours=tuple(one.colour or palette[index % len(palette)] for index, one in enumerate(series)),
        dashed=tuple(one.dash for one in series),
        frequency=frequency,
        periods=len({point.start for one in series for point in one.points}),
        has_spans=bool(datasets["spans"]),
        has_thresholds=bool(datasets["thresholds"]),
        height=height,
        width=width,
        language=(get_language() or "en")[:2],
    )
    spec = json.loads(_layout_spec(layout))
    spec["datasets"] = {name: rows for name, rows in datasets.items() if rows}
    if description:
        spec["description"] = description
    if validate:
        alt.LayerChart.from_dict(spec, validate=True)
    return spec


def _rounded(value: float | None) -> float | None:
    """Six significant digits: more than any published figure has, a third of the bytes of a full float
    (the page carries every point of every chart)."""
    return None if value is None else float(f"{value:.6g}")


@dataclass(frozen=True)
class _Layout:
    """Everything about a chart except its data: the same layout recurs on every page and every state."""

    title: str
    unit: str
    names: tuple[str, ...]
    colours: tuple[str, ...]
    dashed: tuple[bool, ...]
    frequency: str
    periods: int
    has_spans: bool
    has_thresholds: bool
    height: int
    width: int | str
    language: str


@lru_cache(maxsize=512)
def _layout_spec(layout: _Layout) -> str:
    """The Vega-Lite spec without its data (which sits in `datasets`), built with altair once per layout:
    altair copies and validates every value it is given, which costs far more than the chart itself."""
    text = ChartText(period=_("Period"), value=layout.unit, series=_("Series"), alert=_("Alert"))
    names = list(layout.names)
    dashes = [[6, 4] if dashed else [1, 0] for dashed in layout.dashed]
    x_axis = alt.X(
        "time:T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(
            format=_date_format(layout.frequency),
            labelOverlap=True,
            grid=False,
            **_tick_count(layout.frequency, layout.periods),
        ),
    )
    legend = alt.Legend(
        orient="bottom", direction="horizontal", symbolType="stroke", labelLimit=220, symbolStrokeWidth=2
    )
    toggle = alt.selection_point(name="legend_toggle", fields=["series"], bind="legend")
    point_size = 14 if layout.frequency == "monthly" else 28
    lines = (
        alt.Chart(alt.NamedData(name="lines"))
        .transform_flatten(["period", "date", "value"])
        # Parsed after flattening (Vega-Lite would otherwise try to parse the arrays as dates).
        .transform_calculate(time="toDate(datum.date)")
        .mark_line(point=alt.OverlayMarkDef(size=point_size, filled=True), strokeWidth=2)
        .encode(
            x=x_axis,
            y=alt.Y("value:Q", title=layout.unit, scale=alt.Scale(zero=False)),
            # Colour and dash share the field and the legend, so Vega-Lite draws one legend with both.
            color=alt.Color(
                "series:N", title=None, scale=alt.Scale(domain=names, range=list(layout.colours)), legend=legend
            ),
            strokeDash=alt.StrokeDash(
                "series:N", title=None, scale=alt.Scale(domain=names, range=dashes), legend=legend
            ),
            opacity=alt.condition(toggle, alt.value(1.0), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("series:N", title=text.series),
                alt.Tooltip("period:N", title=text.period),
                alt.Tooltip("value:Q", title=text.value, format=",.4~g"),
            ],
        )
        .add_params(toggle)
    )
    layers: list[alt.Chart] = []
    if layout.has_spans:
        layers.append(
            alt.Chart(alt.NamedData(name="spans"))
            .mark_rect(opacity=0.3)
            .encode(
                x=alt.X("start:T", scale=alt.Scale(type="utc")),
                x2="end:T",
                color=alt.Color("colour:N", scale=None, legend=None),
                tooltip=[alt.Tooltip("label:N", title=text.alert)],
            )
        )
    if layout.has_thresholds:
        base = alt.Chart(alt.NamedData(name="thresholds"))
        layers.append(
            base.mark_rule(strokeDash=[2, 3], strokeWidth=1.5).encode(
                y="value:Q", color=alt.Color("colour:N", scale=None, legend=None), tooltip=["label:N", "value:Q"]
            )
        )
        layers.append(
            base.mark_text(align="right", baseline="bottom", dx=-2, dy=-2, fontSize=10, color="#333333").encode(
                y="value:Q", x=alt.value("width"), text="label:N"
            )
        )
    # The spans and thresholds colour themselves (scale None); keeping each layer's colour scale and legend
    # independent stops them from switching off the lines' legend.
    chart = (
        alt.layer(*layers, lines)
        .resolve_scale(color="independent", strokeDash="independent")
        .resolve_legend(color="independent", strokeDash="independent")
        .properties(
            title=alt.Title(layout.title, anchor="start", fontSize=14), height=layout.height, width=layout.width
        )
    )
    spec = chart.to_dict(validate=False)
    spec["config"] = {
        **spec.get("config", {}),
        "locale": _locale(layout.language),
        "font": "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif",
        "view": {"stroke": None},
    }
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    return json.dumps(spec)


def _threshold_colour(level: int | None) -> str:
    # The pale level colours vanish as thin lines on white; draw normal and unknown limits in grey.
    return {2: LEVEL_COLOURS[2], 3: LEVEL_COLOURS[3], 1: "#b8a200"}.get(level, "#666666")


def chart_svg(spec: dict[str, Any], *, width: int = 640) -> str:
    """The chart as a standalone SVG (for the PDF and Word report), drawn offline by vl-convert.

    A page chart fills its container; an SVG has no container, so it gets `width` pixels."""
    static_spec = dict(spec)
    if static_spec.get("width") == "container" or "width" not in static_spec:
        static_spec["width"] = width
    static_spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    return vl_convert.vegalite_to_svg(static_spec, vl_version=VEGA_LITE_VERSION)
