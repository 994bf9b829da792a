"""The shared chart definitions: the spec the page draws is valid Vega-Lite, interactive, and renders to the
same SVG the summit report embeds."""

import re
from datetime import date

import altair as alt
from django.utils import translation

from monitoring import charts
from monitoring.dashboards.geo import map_geometry


def _monthly(values: list[float | None], year: int = 2023) -> list[charts.Point]:
    return [charts.Point(f"{year}-{month:02d}", date(year, month, 1), value) for month, value in enumerate(values, 1)]


def test_timeseries_spec_is_valid_vega_lite_with_tooltips_and_a_legend_toggle():
    # given two series, a threshold and an alert span
    observed = charts.Series("Observed", _monthly([10, 11, None, 13]))
    norm = charts.Series("Seasonal norm", _monthly([9, 9, 9, 9]), dash=True)

    # when the spec is built with schema validation on
    spec = charts.timeseries_chart(
        title="Wheat flour",
        unit="KGS/kg",
        series=[observed, norm],
        thresholds=[charts.Threshold(12.0, "warning ≥ 12", level=2)],
        spans=[charts.Span(date(2023, 4, 1), date(2023, 5, 1), level=2, label="warning")],
        frequency="monthly",
        validate=True,
    )

    # then it targets the vendored Vega-Lite version and carries the interaction and every layer
    assert charts.VEGA_LITE_VERSION in spec["$schema"]
    assert spec["params"][0]["bind"] == "legend"
    assert spec["params"][0]["select"]["fields"] == ["series"]
    line_layer = spec["layer"][-1]
    assert [tip["field"] for tip in line_layer["encoding"]["tooltip"]] == ["series", "period", "value"]
    assert line_layer["encoding"]["color"]["scale"]["domain"] == ["Observed", "Seasonal norm"]
    assert len(spec["layer"]) == 4  # span, threshold rule, threshold label, lines
    assert [layer["data"]["name"] for layer in spec["layer"]] == ["spans", "thresholds", "thresholds", "lines"]
    observed_row = spec["datasets"]["lines"][0]
    assert observed_row["series"] == "Observed"
    assert observed_row["period"][2] == "2023-03" and observed_row["date"][2] == "2023-03-01"
    assert observed_row["value"] == [10, 11, None, 13]  # a missing month stays missing: the line breaks


def test_series_without_any_value_is_left_out_of_the_legend():
    # given a series with no value at all
    empty = charts.Series("Last year", _monthly([None, None]))
    observed = charts.Series("Observed", _monthly([1.0, 2.0]))

    # when
    spec = charts.timeseries_chart(title="t", unit="u", series=[observed, empty], frequency="monthly")

    # then
    assert spec["layer"][-1]["encoding"]["color"]["scale"]["domain"] == ["Observed"]


def test_chart_svg_renders_the_same_spec_offline_with_its_title_and_threshold():
    # given a page spec (width "container")
    spec = charts.timeseries_chart(
        title="Stunting, children under 5",
        unit="%",
        series=[
            charts.Series("Kyrgyzstan", [charts.Point(str(y), date(y, 1, 1), 10.0 + y % 3) for y in range(2015, 2022)])
        ],
        thresholds=[charts.Threshold(20.0, "warning ≥ 20", level=2)],
        frequency="annual",
    )
    assert spec["width"] == "container"

    # when
    svg = charts.chart_svg(spec, width=500)

    # then a standalone SVG with the title, the threshold label and one tick per year
    assert svg.startswith("<svg")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "Stunting, children under 5" in texts
    assert "warning ≥ 20" in texts
    assert [text for text in texts if re.fullmatch(r"20\d\d", text)] == [str(year) for year in range(2015, 2022)]


def test_chart_speaks_the_active_language_months_and_decimal_comma():
    # given a monthly series
    series = [charts.Series("Цена", _monthly([0.15, 0.25, 0.35, 0.45, 0.55, 0.65]))]

    # when built and drawn in Russian
    with translation.override("ru"):
        spec = charts.timeseries_chart(title="Мука", unit="сом/кг", series=series, frequency="monthly")
        svg = charts.chart_svg(spec)

    # then the axis uses Russian month abbreviations and the value axis a decimal comma
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert any("2023" in text and any(month in text for month in ("янв", "фев", "мар", "апр")) for text in texts)
    assert any(re.fullmatch(r"0,\d+", text) for text in texts), texts


def test_level_words_and_colours_cover_the_unified_scale():
    # given the unified levels of METHODS.md and "no data"
    levels = [None, 0, 1, 2, 3]

    # when / then every level has a colour, a text colour and a distinct word
    assert set(charts.LEVEL_COLOURS) == set(levels) == set(charts.LEVEL_TEXT_COLOURS)
    assert len({charts.level_label(level) for level in levels}) == 5
    with translation.override("en"):
        assert charts.level_label(3) == "emergency"


def test_map_geometry_has_the_five_states_inside_the_view_box():
    # when
    geometry = map_geometry()

    # then
    assert set(geometry.shapes) == {"KAZ", "KGZ", "TJK", "TKM", "UZB"}
    for shape in geometry.shapes.values():
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", shape.path)]
        assert min(numbers) >= 0 and max(numbers[0::2]) <= geometry.width + 0.1
        assert 0 <= shape.label_x <= geometry.width and 0 <= shape.label_y <= geometry.height
    kazakhstan, tajikistan = geometry.shapes["KAZ"], geometry.shapes["TJK"]
    assert kazakhstan.label_y < tajikistan.label_y  # north is up


def test_altair_builds_the_schema_version_the_bundle_was_made_for():
    # The vendored bundle (static/vendor/vega) is built for charts.VEGA_LITE_VERSION; altair must agree.
    assert alt.SCHEMA_VERSION.lstrip("v").startswith(charts.VEGA_LITE_VERSION)
