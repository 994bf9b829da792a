"""Reads of observations for the entry pages, the API and other apps: what a user may see, the values
beside an entry field, the outlier check, completeness (DHIS2's reporting-rate report)."""

import statistics
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring import periods, permissions
from monitoring.models import ImportBatch, Indicator, Observation, PeriodApproval, Pillar

Status = Observation.Status


# --- what a user may see ---------------------------------------------------------------------------


def observations_visible(user) -> QuerySet[Observation]:
    """Approved values for everyone; drafts, submissions and rejections only within the user's scope."""
    queryset = Observation.objects.select_related("country", "indicator", "region", "market")
    return permissions.visible_observations(user, queryset)


def import_batches_visible(user) -> QuerySet[ImportBatch]:
    """Analysts see every import; others the imports they made or that wrote their states' values."""
    queryset = ImportBatch.objects.select_related("created_by")
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if permissions.is_analyst(user):
        return queryset
    readable = permissions.countries_readable_unapproved(user)
    ids = (
        ImportBatch.objects.filter(Q(created_by=user) | Q(observations__country_id__in=readable))
        .values("pk")
        .distinct()
    )
    return queryset.filter(pk__in=ids)


def period_approvals_visible(user) -> QuerySet[PeriodApproval]:
    """Where each state's periods stand; the reasons are internal, so only within the user's scope."""
    readable = permissions.countries_readable_unapproved(user)
    return PeriodApproval.objects.select_related("country", "updated_by").filter(country_id__in=readable)


# --- the entry form ------------------------------------------------------------------------------------

# METHODS.md §4 (DHIS2 outlier detection): modified z-score 0.6745 * |x - median| / MAD, outlier above 3.0.
MODIFIED_Z_CONSTANT = 0.6745
OUTLIER_THRESHOLD = 3.0
# Fewer earlier values give no stable median and MAD; then no warning is given (DHIS2 needs a history too).
OUTLIER_MIN_HISTORY = 4


def modified_z_score(value: float, history: list[float]) -> float:
    """METHODS.md §4; MAD = 0 gives 0 (no spread, no score)."""
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    if mad == 0:
        return 0.0
    return MODIFIED_Z_CONSTANT * abs(value - median) / mad


@dataclass
class ValueCheck:
    """The result of checking one value before it is saved: an error refuses it, a warning does not."""

    error: str | None = None
    warning: str | None = None
    score: float | None = None
    history_size: int = 0

    def as_dict(self) -> dict:
        return {"ok": self.error is None, "error": self.error, "warning": self.warning, "score": self.score}


def value_history(*, country: Country, indicator: Indicator, period: str, place_key: str = "") -> list[float]:
    """The country's own earlier values the outlier check compares with: every earlier period that is not
    rejected; for monthly indicators only the same calendar month of earlier years (seasonality)."""
    parsed = periods.parse_period(period, indicator.frequency)
    queryset = Observation.objects.filter(
        country=country, indicator=indicator, place_key=place_key, period_start__lt=parsed.start
    ).exclude(status=Status.REJECTED)
    if indicator.frequency == periods.MONTHLY:
        queryset = queryset.filter(period_start__month=parsed.start.month)
    return list(queryset.values_list("value", flat=True))


def value_check(
    *, country: Country, indicator: Indicator, period: str, value: float, place_key: str = ""
) -> ValueCheck:
    """The check the form runs while typing (JSON endpoint) and again when saving."""
    if reason := indicator.range_error(value):
        return ValueCheck(error=reason)
    history = value_history(country=country, indicator=indicator, period=period, place_key=place_key)
    if len(history) < OUTLIER_MIN_HISTORY:
        return ValueCheck(history_size=len(history))
    score = modified_z_score(value, history)
    check = ValueCheck(score=round(score, 2), history_size=len(history))
    if score > OUTLIER_THRESHOLD:
        check.warning = _(
            "%(value)s is unusual against %(country)s's own history (modified z-score %(score).1f > %(threshold).1f, "
            "median %(median)s). Check it, and say why in the comment if it is right."
        ) % {
            "value": f"{value:g}",
            "country": country.name,
            "score": score,
            "threshold": OUTLIER_THRESHOLD,
            "median": f"{statistics.median(history):g}",
        }
    return check


def previous_values(
    *, country: Country, indicators: list[Indicator], period: periods.Period, count: int = 3
) -> dict[int, list[tuple[str, Observation | None]]]:
    """For each indicator, the national values of the `count` periods before `period` (oldest first)."""
    earlier = [period.shift(-step).text for step in range(count, 0, -1)]
    rows = Observation.objects.filter(
        country=country, indicator__in=indicators, place_key="", period__in=earlier
    ).exclude(status=Status.REJECTED)
    by_key = {(row.indicator_id, row.period): row for row in rows}
    return {indicator.pk: [(text, by_key.get((indicator.pk, text))) for text in earlier] for indicator in indicators}


def entry_indicators(frequency: str) -> list[Indicator]:
    """The indicators a ministry enters (derived ones are computed) of one frequency, pillar by pillar."""
    pillar_order = {pillar: index for index, pillar in enumerate(Pillar.values)}  # FAO's order of the four
    indicators = Indicator.objects.entered().filter(frequency=frequency).order_by("sort_order", "code")
    return sorted(indicators, key=lambda indicator: pillar_order.get(indicator.pillar, len(pillar_order)))


# --- completeness ----------------------------------------------------------------------------------------


@dataclass
class CompletenessCell:
    period: str
    expected: bool
    status: str | None = None  # the value's status, None when nothing was entered

    @property
    def entered(self) -> bool:
        return self.status is not None

    @property
    def submitted(self) -> bool:
        return self.status in (Status.SUBMITTED, Status.APPROVED)

    @property
    def approved(self) -> bool:
        return self.status == Status.APPROVED


@dataclass
class CompletenessRow:
    indicator: Indicator
    cells: list[CompletenessCell] = field(default_factory=list)

    def count(self, attribute: str) -> int:
        return sum(1 for cell in self.cells if cell.expected and getattr(cell, attribute))

    @property
    def expected(self) -> int:
        return sum(1 for cell in self.cells if cell.expected)

    @property
    def entered(self) -> int:
        return self.count("entered")

    @property
    def submitted(self) -> int:
        return self.count("submitted")

    @property
    def approved(self) -> int:
        return self.count("approved")


@dataclass
class Completeness:
    """One state's reporting for one year: rows per indicator, and totals like DHIS2's reporting rate."""

    country: Country
    year: int
    rows: list[CompletenessRow]

    def _total(self, attribute: str) -> int:
        return sum(getattr(row, attribute) for row in self.rows)

    @property
    def expected(self) -> int:
        return self._total("expected")

    @property
    def entered(self) -> int:
        return self._total("entered")

    @property
    def submitted(self) -> int:
        return self._total("submitted")

    @property
    def approved(self) -> int:
        return self._total("approved")

    def rate(self, attribute: str) -> float | None:
        """Share of expected values that reached `attribute` (entered, submitted, approved), in percent."""
        return round(100 * self._total(attribute) / self.expected, 1) if self.expected else None

    @property
    def approved_percent(self) -> float | None:
        """The reporting rate: approved values as a share of expected ones."""
        return self.rate("approved")


def periods_of_year(frequency: str, year: int) -> list[periods.Period]:
    if frequency == periods.ANNUAL:
        return [periods.period_from_parts(periods.ANNUAL, year)]
    if frequency == periods.QUARTERLY:
        return [periods.period_from_parts(periods.QUARTERLY, year, quarter) for quarter in range(1, 5)]
    return [periods.period_from_parts(periods.MONTHLY, year, month) for month in range(1, 13)]


def period_has_ended(period: periods.Period, today: date) -> bool:
    return period.shift(1).start <= today


def completeness_for(country: Country, year: int, *, today: date | None = None) -> Completeness:
    """Whether each value was expected, entered, submitted and approved, per indicator and period.

    Expected: every entered (not derived) national indicator of the catalogue, for every period of its
    frequency in `year` that has ended by `today` (a month is due once it is over; an annual figure once
    the year is over). Counted: national values (regional and market values are extra detail and do not
    fill a national gap). Submitted counts approved values too (they were submitted first)."""
    today = today or timezone.localdate()
    indicators = list(Indicator.objects.entered().order_by("pillar", "sort_order", "code"))
    statuses = {
        (indicator_id, period): status
        for indicator_id, period, status in Observation.objects.filter(
            country=country, place_key="", period_start__year=year
        ).values_list("indicator_id", "period", "status")
    }
    rows = []
    for indicator in indicators:
        row = CompletenessRow(indicator=indicator)
        for period in periods_of_year(indicator.frequency, year):
            row.cells.append(
                CompletenessCell(
                    period=period.text,
                    expected=period_has_ended(period, today),
                    status=statuses.get((indicator.pk, period.text)),
                )
            )
        rows.append(row)
    return Completeness(country=country, year=year, rows=rows)


def completeness_years() -> list[int]:
    """Years that have any national value, newest first (the completeness page's year selector)."""
    years = Observation.objects.filter(place_key="").dates("period_start", "year", order="DESC")
    return [day.year for day in years]


def period_status_counts(country: Country, period: str) -> dict[str, int]:
    """How many values of the state's period are in each status (all places)."""
    counts = Observation.objects.filter(country=country, period=period).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in counts}
