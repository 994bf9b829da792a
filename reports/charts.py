"""The report's charts are the dashboards' charts: this module only re-exports `monitoring.charts` (one
definition for the page and the report) and decides how a spec becomes a file for print.

- PDF and HTML: vector SVG from `monitoring.charts.chart_svg`, its text set in the report's own font
  (loaded from `reports/fonts/` by the stylesheet), so the PDF never falls back to a system font.
- Word: the same SVG (Word 2016 and later draw it as a vector) with a PNG rendering of it as the fallback
  picture older Word versions show; the PNG is drawn by vl-convert with the fonts of `reports/fonts/`.
"""

from functools import cache
from pathlib import Path
from typing import Any

import vl_convert

from monitoring.charts import (  # noqa: F401  (re-exported: the report uses the dashboards' definitions)
    COUNTRY_COLOURS,
    LEVEL_COLOURS,
    LEVEL_TEXT_COLOURS,
    Point,
    Series,
    Threshold,
    chart_svg,
    level_label,
    timeseries_chart,
)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# The family name the report's stylesheet gives the repository's Noto Sans files (`@font-face`). The PDF
# lists its fonts under this name, which is how the tests tell them from a system font.
PRINT_FONT_FAMILY = "ReportNotoSans"
# DejaVu Sans, also from `reports/fonts/`, for the few signs Noto Sans lacks (the minus sign, ≥).
FALLBACK_FONT_FAMILY = "ReportDejaVuSans"
# Word has no access to the repository's fonts: name fonts a secretariat computer has.
WORD_FONT_FAMILY = "Noto Sans, Arial, sans-serif"
CHART_WIDTH = 640
PNG_SCALE = 3  # about 300 dpi at the printed width of 16 cm


def _with_font(spec: dict[str, Any], font: str) -> dict[str, Any]:
    return {**spec, "config": {**spec.get("config", {}), "font": font}}


def print_svg(spec: dict[str, Any]) -> str:
    """The chart as SVG for the PDF and the HTML report, its text in the report's font."""
    return chart_svg(_with_font(spec, f"{PRINT_FONT_FAMILY}, {FALLBACK_FONT_FAMILY}"), width=CHART_WIDTH)


def word_svg_and_png(spec: dict[str, Any]) -> tuple[str, bytes]:
    """The chart as SVG for Word and a PNG of the same drawing for Word versions without SVG support."""
    _register_fonts()
    svg = chart_svg(_with_font(spec, WORD_FONT_FAMILY), width=CHART_WIDTH)
    return svg, vl_convert.svg_to_png(svg, scale=PNG_SCALE)


@cache
def _register_fonts() -> None:
    vl_convert.register_font_directory(str(FONTS_DIR))
