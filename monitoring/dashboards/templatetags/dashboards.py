"""Template filters of the dashboard pages: numbers in the reader's locale, levels as colour and word."""

import math

from django import template
from django.utils.formats import number_format

from monitoring import charts, permissions

register = template.Library()


@register.filter
def figure(value: float | None, decimals: int | None = None) -> str:
    """A value with as many decimals as its size needs, grouped and localized (1 234,5 in Russian)."""
    if value is None:
        return "–"
    if decimals is None:
        size = abs(value)
        # Three significant digits for small values (a price of 0.0052 USD), fewer decimals for large ones.
        decimals = (
            0
            if size >= 1000
            else 1
            if size >= 10
            else 2
            if size >= 1 or size == 0
            else min(6, 2 - math.floor(math.log10(size)))
        )
    return number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


@register.filter
def signed_percent(value: float | None) -> str:
    if value is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{number_format(abs(value), decimal_pos=1, use_l10n=True)} %"


@register.filter
def level_word(level: int | None) -> str:
    return charts.level_label(level)


@register.filter
def level_css(level: int | None) -> str:
    return f"level-{'none' if level is None else level}"


@register.filter
def can_use_entry(user) -> bool:
    """Show the data-entry links only to those the entry pages let in (clerks, approvers, analysts)."""
    return permissions.can_use_entry(user)
