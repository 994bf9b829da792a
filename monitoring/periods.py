"""Periods as written in files, pages, URLs and the API: `YYYY`, `YYYY-Qn`, `YYYY-MM`.

The written form is stored beside its first day, so ordering and range filters use a date while people
read the form they know. Validation against an indicator's frequency happens here and nowhere else.
"""

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ANNUAL = "annual"
QUARTERLY = "quarterly"
MONTHLY = "monthly"

# ASCII digits only: `\d` alone also matches other scripts' digits ("٢٠٢٣"), which would be stored as written.
_PATTERNS = {
    ANNUAL: re.compile(r"^(?P<year>\d{4})$", re.ASCII),
    QUARTERLY: re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$", re.ASCII),
    MONTHLY: re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$", re.ASCII),
}
MIN_YEAR, MAX_YEAR = 1900, 2100


@dataclass(frozen=True, order=True)
class Period:
    start: date
    frequency: str
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def year(self) -> int:
        return self.start.year

    def shift(self, steps: int) -> "Period":
        """The period `steps` periods later (earlier when negative), same frequency.

        Arithmetic, not input: it may step past the years `parse_period` accepts (the period before 1900
        is 1899), so the pages and the API can name an edge period's neighbours without failing."""
        if self.frequency == ANNUAL:
            year = self.start.year + steps
            return Period(start=date(year, 1, 1), frequency=ANNUAL, text=f"{year:04d}")
        months = 3 if self.frequency == QUARTERLY else 1
        index = self.start.year * 12 + self.start.month - 1 + steps * months
        year, month0 = divmod(index, 12)
        if self.frequency == QUARTERLY:
            quarter = month0 // 3 + 1
            return Period(start=date(year, month0 + 1, 1), frequency=QUARTERLY, text=f"{year:04d}-Q{quarter}")
        return Period(start=date(year, month0 + 1, 1), frequency=MONTHLY, text=f"{year:04d}-{month0 + 1:02d}")


def frequency_of(text: str) -> str | None:
    for frequency, pattern in _PATTERNS.items():
        if pattern.match(text):
            return frequency
    return None


def parse_period(text: str, frequency: str | None = None) -> Period:
    """Parse a written period; with `frequency`, refuse a period of another frequency."""
    text = str(text).strip()
    found = frequency_of(text)
    if found is None:
        raise ValidationError(
            _("“%(period)s” is not a period: write YYYY, YYYY-Qn or YYYY-MM."), params={"period": text}
        )
    if frequency is not None and found != frequency:
        raise ValidationError(
            _("“%(period)s” is a %(found)s period but the indicator is %(expected)s."),
            params={"period": text, "found": _(found), "expected": _(frequency)},
        )
    match = _PATTERNS[found].match(text)
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(_("The year %(year)s is out of range."), params={"year": year})
    if found == ANNUAL:
        start = date(year, 1, 1)
    elif found == QUARTERLY:
        start = date(year, (int(match["quarter"]) - 1) * 3 + 1, 1)
    else:
        start = date(year, int(match["month"]), 1)
    return Period(start=start, frequency=found, text=text)


def period_from_parts(frequency: str, year: int, sub: int | None = None) -> Period:
    if frequency == ANNUAL:
        return parse_period(f"{year:04d}")
    if frequency == QUARTERLY:
        return parse_period(f"{year:04d}-Q{sub}")
    return parse_period(f"{year:04d}-{sub:02d}")


def period_from_date(frequency: str, day: date) -> Period:
    if frequency == ANNUAL:
        return period_from_parts(ANNUAL, day.year)
    if frequency == QUARTERLY:
        return period_from_parts(QUARTERLY, day.year, (day.month - 1) // 3 + 1)
    return period_from_parts(MONTHLY, day.year, day.month)
