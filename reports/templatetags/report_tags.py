"""Filters the report templates use to write a table cell exactly as the other formats write it."""

from django import template
from django.utils.translation import get_language

from reports.formatting import LevelCell, Number, format_cell

register = template.Library()


@register.filter
def report_cell(cell: object) -> str:
    return format_cell(cell, get_language() or "en")


@register.filter
def cell_class(cell: object) -> str:
    if isinstance(cell, LevelCell):
        return f"level level-{'none' if cell.level is None else cell.level}"
    if isinstance(cell, Number | int | float) and not isinstance(cell, bool):
        return "number"
    return ""


@register.filter
def paragraphs(text: str) -> list[str]:
    """An analyst's text split into paragraphs at blank lines."""
    return [block.strip() for block in (text or "").replace("\r\n", "\n").split("\n\n") if block.strip()]
