"""The report as one HTML document: the page in the product, the HTML download and the PDF's source."""

from django.template.loader import render_to_string

from reports.charts import FALLBACK_FONT_FAMILY, FONTS_DIR, LEVEL_COLOURS, LEVEL_TEXT_COLOURS, PRINT_FONT_FAMILY
from reports.contents import ReportContents

BODY_START, BODY_END = "<!--report-body-start-->", "<!--report-body-end-->"


def render_html(contents: ReportContents) -> str:
    """Charts must already be drawn (`Chart.svg`); call inside `translation.override(contents.language)`."""
    level_colours = [
        ("none" if level is None else level, (colour, LEVEL_TEXT_COLOURS[level]))
        for level, colour in LEVEL_COLOURS.items()
    ]
    return render_to_string(
        "reports/document.html",
        {
            "contents": contents,
            "snapshot_date": contents.snapshot_taken_at[:10],
            "font_family": PRINT_FONT_FAMILY,
            "fallback_font_family": FALLBACK_FONT_FAMILY,
            "font_dir": FONTS_DIR.as_uri(),
            "level_colours": level_colours,
        },
    )


def body_of(document: str) -> str:
    """The report's body (without <html>, <head> and the print stylesheet), for the page in the product."""
    start, end = document.find(BODY_START), document.find(BODY_END)
    if start < 0 or end < 0:
        return ""
    return document[start + len(BODY_START) : end]
