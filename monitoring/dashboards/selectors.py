"""Reads behind the dashboard pages: aggregated in a handful of queries, cached by data version.

Every page shows approved data only (the official picture, the same for a visitor and a minister).
Expensive aggregates are cached in Django's cache under a key that includes the data version: the latest
observation history row (every entry, import, approval and rejection writes one) and the latest alert
change (every engine run and every acknowledgement). A new approval therefore shows at once; the time
limit (`DASHBOARD_CACHE_SECONDS`) only bounds a change that bypassed both.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Avg, Count, Max, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring import charts
from monitoring.alerts.models import Alert, AlertEvent, AlertRule, Level, Method, RegionalAlert, Score
from monitoring.alerts.selectors import alert_sentence, class_label, country_status_all
from monitoring.dashboards.geo import MapShape, map_geometry
from monitoring.models import Indicator, Observation, Pillar
from monitoring.periods import ANNUAL, MONTHLY, QUARTERLY, parse_period

CACHE_SECONDS = getattr(settings, "DASHBOARD_CACHE_SECONDS", 300)
EXCHANGE_RATE_CODE = "EXCHANGE_RATE_USD"
NEWEST_ALERTS = 10
COUNTRY_OPEN_ALERTS = 50
# How much history a country chart shows: six years of a monthly series (the five years of the seasonal
# norm plus the current one), all of an annual one.
CHART_PERIODS = {MONTHLY: 72, QUARTERLY: 24, ANNUAL: 40}
STEPS_PER_YEAR = {MONTHLY: 12, QUARTERLY: 4, ANNUAL: 1}
# A 5-year average needs at least three of the five years, otherwise it is not shown.
AVERAGE_MIN_YEARS = 3

T = TypeVar("T")


# --- cache -------------------------------------------------------------------------------------------


def data_version() -> str:
    """Changes whenever an observation or an alert changes, in one round trip of index-only lookups:
    the newest observation history row (every entry, import, approval, rejection and reopening writes
    one), the newest alert event (raised, escalated, acknowledged, resolved ...) and the newest change of
    a regional alert (a small table)."""
    history = Observation.history.model._meta
    sql = (
        f"SELECT (SELECT MAX({history.pk.column}) FROM {history.db_table}),"
        f" (SELECT MAX(id) FROM {AlertEvent._meta.db_table}),"
        f" (SELECT MAX(updated_at) FROM {RegionalAlert._meta.db_table})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        latest_history, latest_event, latest_regional = cursor.fetchone()
    regional = latest_regional.timestamp() if hasattr(latest_regional, "timestamp") else latest_regional or 0
    return f"{latest_history or 0}-{latest_event or 0}-{regional}"


def cached(name: str, build: Callable[[], T], *parts: Any) -> T:
    """`build()` cached per data version and language, so a page in Russian never shows English text."""
    raw = ":".join([name, data_version(), get_language() or "en", *(str(part) for part in parts)])
    key = "dashboards:" + hashlib.sha256(raw.encode()).hexdigest()  # short and safe for any cache backend
    return cache.get_or_set(key, build, CACHE_SECONDS)


# --- alert statuses and sentences ----------------------------------------------------------------------


def level_cell(level: int | None) -> dict[str, Any]:
    """What the templates need to show a level: the colour class AND the word."""
    return {"level": level, "label": charts.level_label(level), "css": f"level-{'none' if level is None else level}"}


def _country_status_all() -> dict[str, dict[str, Any]]:
    """The engine's one definition of a state's status (METHODS.md: latest period, highest pillar)."""
    return country_status_all()


def place_name(alert: Alert) -> str:
    if alert.market_id:
        return alert.market.name
    if alert.region_id:
        return alert.region.name
    return _("national")


# --- overview ---------------------------------------------------------------------------------------


@dataclass
class StateSummary:
    country: Country
    shape: MapShape | None
    overall: dict[str, Any]
    pillars: list[dict[str, Any]]
    status_period: str | None
    latest_data: date | None
    open_alerts: int = 0


@dataclass
class Overview:
    states: list[StateSummary]
    pillars: list[tuple[str, str]]
    regional_alerts: list[dict[str, Any]]
    newest_alerts: list[dict[str, Any]]
    map_width: int
    map_height: int
    legend: list[dict[str, Any]] = field(default_factory=list)


def latest_approved_data() -> dict[int, date]:
    """The start of the latest period with approved data, per state."""
    rows = Observation.objects.approved().values("country_id").annotate(latest=Max("period_start")).order_by()
    return {row["country_id"]: row["latest"] for row in rows}


def _open_alert_counts() -> dict[int, int]:
    rows = Alert.objects.open().values("country_id").annotate(count=Count("id")).order_by()
    return {row["country_id"]: row["count"] for row in rows}


def _alert_rows(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    return [
        {
            "alert": alert,
            "sentence": alert_sentence(alert),
            "place": place_name(alert),
            "level": level_cell(alert.level),
        }
        for alert in alerts
    ]


def alerts_with_relations(queryset: QuerySet[Alert]) -> QuerySet[Alert]:
    return queryset.select_related("country", "indicator", "region", "market", "rule")


def overview() -> Overview:
    return cached("overview", _build_overview)


def _build_overview() -> Overview:
    geometry = map_geometry()
    statuses = _country_status_all()
    latest = latest_approved_data()
    open_counts = _open_alert_counts()
    pillars = list(Pillar.choices)
    states = []
    for country in Country.objects.order_by("name_en"):
        status = statuses.get(country.iso2) or {}
        pillar_levels = status.get("pillars") or {}
        states.append(
            StateSummary(
                country=country,
                shape=geometry.shapes.get(country.iso3),
                overall=level_cell(status.get("overall")),
                pillars=[
                    {"pillar": value, "name": label, **level_cell(pillar_levels.get(value))} for value, label in pillars
                ],
                status_period=status.get("period"),
                latest_data=latest.get(country.pk),
                open_alerts=open_counts.get(country.pk, 0),
            )
        )
    regional = (
        RegionalAlert.objects.exclude(status=Alert.Status.RESOLVED)
        .select_related("indicator")
        .prefetch_related("states")
        .order_by("-period_start", "-level")[:NEWEST_ALERTS]
    )
    regional_rows = [
        {
            "alert": alert,
            "sentence": alert_sentence(alert),
            "level": level_cell(alert.level),
            "states": list(alert.states.all()),
        }
        for alert in regional
    ]
    newest = alerts_with_relations(Alert.objects.open()).order_by("-raised_at", "-level")[:NEWEST_ALERTS]
    return Overview(
        states=states,
        pillars=[(value, str(label)) for value, label in pillars],
        regional_alerts=regional_rows,
        newest_alerts=_alert_rows(newest),
        map_width=geometry.width,
        map_height=geometry.height,
        legend=[level_cell(level) for level in [None, *Level.values]],
    )


# --- series -----------------------------------------------------------------------------------------


@dataclass
class IndicatorSeries:
    """One state's series of one indicator: national values, or the average of its markets when there is
    no national series (prices from market surveys), with the number of markets averaged."""

    indicator: Indicator
    country: Country
    values: dict[date, float]
    markets_averaged: int = 0
    currency: str = ""
    missing_rates: int = 0  # periods with a price but no exchange rate, left out of the USD series

    @property
    def frequency(self) -> str:
        return self.indicator.frequency


def _approved_series(countries: list[Country], indicators: list[Indicator]) -> dict[tuple[int, int], IndicatorSeries]:
    """National series of the indicators, with a market average where a price has no national series."""
    by_country = {country.pk: country for country in countries}
    by_indicator = {indicator.pk: indicator for indicator in indicators}
    found: dict[tuple[int, int], IndicatorSeries] = {}
    rows = (
        Observation.objects.approved()
        .national()
        .filter(country_id__in=by_country, indicator_id__in=by_indicator)
        .values_list("country_id", "indicator_id", "period_start", "value")
        .order_by()
    )
    for country_id, indicator_id, period_start, value in rows:
        key = (country_id, indicator_id)
        if key not in found:
            found[key] = IndicatorSeries(
                indicator=by_indicator[indicator_id], country=by_country[country_id], values={}
            )
        found[key].values[period_start] = value
    price_ids = [pk for pk, indicator in by_indicator.items() if indicator.category == Indicator.Category.PRICE]
    missing_prices = [(c, i) for c in by_country for i in price_ids if (c, i) not in found]
    if missing_prices:
        averaged = (
            Observation.objects.approved()
            .filter(
                country_id__in={c for c, _ in missing_prices},
                indicator_id__in={i for _, i in missing_prices},
                place_key__startswith="market:",
            )
            .values("country_id", "indicator_id", "period_start")
            .annotate(average=Avg("value"), markets=Count("id"))
            .order_by()
        )
        for row in averaged:
            key = (row["country_id"], row["indicator_id"])
            if key not in missing_prices:
                continue
            if key not in found:
                found[key] = IndicatorSeries(
                    indicator=by_indicator[row["indicator_id"]], country=by_country[row["country_id"]], values={}
                )
            found[key].values[row["period_start"]] = row["average"]
            found[key].markets_averaged = max(found[key].markets_averaged, row["markets"])
    return found


def _exchange_rates(countries: list[Country]) -> dict[int, dict[date, float]]:
    rates: dict[int, dict[date, float]] = defaultdict(dict)
    rows = (
        Observation.objects.approved()
        .national()
        .filter(country__in=countries, indicator__code=EXCHANGE_RATE_CODE)
        .values_list("country_id", "period_start", "value")
        .order_by()
    )
    for country_id, period_start, value in rows:
        rates[country_id][period_start] = value
    return rates


def to_usd(series: IndicatorSeries, rates: dict[date, float]) -> IndicatorSeries:
    """Local-currency prices divided by the state's exchange rate of the same month (never stored)."""
    converted = {start: value / rates[start] for start, value in series.values.items() if rates.get(start)}
    return IndicatorSeries(
        indicator=series.indicator,
        country=series.country,
        values=converted,
        markets_averaged=series.markets_averaged,
        currency="USD",
        missing_rates=len(series.values) - len(converted),
    )


# A chart walks thousands of periods; these two do in date arithmetic what `monitoring.periods` does with
# full validation (the starts come from the database, already valid). A test checks they agree.
_MONTHS_PER_STEP = {MONTHLY: 1, QUARTERLY: 3, ANNUAL: 12}


def _period_text(frequency: str, start: date) -> str:
    if frequency == ANNUAL:
        return f"{start.year:04d}"
    if frequency == QUARTERLY:
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year:04d}-{start.month:02d}"


def _shift(frequency: str, start: date, steps: int) -> date:
    year, month0 = divmod(start.year * 12 + start.month - 1 + steps * _MONTHS_PER_STEP[frequency], 12)
    return date(year, month0 + 1, 1)


@dataclass
class Comparison:
    latest_period: str | None = None
    latest: float | None = None
    last_year: float | None = None
    average: float | None = None
    average_years: int = 0

    @property
    def change_year(self) -> float | None:
        if self.latest is None or not self.last_year:
            return None
        return (self.latest - self.last_year) / abs(self.last_year) * 100

    @property
    def change_average(self) -> float | None:
        if self.latest is None or not self.average:
            return None
        return (self.latest - self.average) / abs(self.average) * 100


def five_year_average(series: IndicatorSeries, start: date) -> tuple[float | None, int]:
    """Mean of the same period in the five previous years (the seasonal norm of a monthly series)."""
    steps = STEPS_PER_YEAR[series.frequency]
    earlier = [series.values.get(_shift(series.frequency, start, -steps * years)) for years in range(1, 6)]
    present = [value for value in earlier if value is not None]
    if len(present) < AVERAGE_MIN_YEARS:
        return None, len(present)
    return sum(present) / len(present), len(present)


def compare(series: IndicatorSeries) -> Comparison:
    if not series.values:
        return Comparison()
    latest_start = max(series.values)
    average, years = five_year_average(series, latest_start)
    return Comparison(
        latest_period=_period_text(series.frequency, latest_start),
        latest=series.values[latest_start],
        last_year=series.values.get(_shift(series.frequency, latest_start, -STEPS_PER_YEAR[series.frequency])),
        average=average,
        average_years=years,
    )


def _chart_periods(series: IndicatorSeries, count: int | None = None) -> list[date]:
    """Every period from the first shown to the latest, so a missing period breaks the line."""
    if not series.values:
        return []
    latest = max(series.values)
    first = min(series.values)
    if count is not None:
        first = max(first, _shift(series.frequency, latest, -(count - 1)))
    starts = []
    current = first
    while current <= latest:
        starts.append(current)
        current = _shift(series.frequency, current, 1)
    return starts


def _points(
    series: IndicatorSeries, starts: list[date], value_of: Callable[[date], float | None]
) -> list[charts.Point]:
    return [charts.Point(_period_text(series.frequency, start), start, value_of(start)) for start in starts]


def _alert_spans(alert_levels: dict[date, int], frequency: str) -> list[charts.Span]:
    """Consecutive periods at the same level merge into one shaded span."""
    spans: list[charts.Span] = []
    for start in sorted(alert_levels):
        level = alert_levels[start]
        end = _shift(frequency, start, 1)
        if spans and spans[-1].end == start and spans[-1].level == level:
            spans[-1] = charts.Span(spans[-1].start, end, level, spans[-1].label)
        else:
            spans.append(charts.Span(start, end, level, charts.level_label(level)))
    return spans


def _alert_levels(country_ids: Iterable[int], indicator_ids: Iterable[int]) -> dict[tuple[int, int], dict[date, int]]:
    """The highest level raised per state, indicator and period (resolved alerts included: history)."""
    rows = (
        Alert.objects.filter(country_id__in=country_ids, indicator_id__in=indicator_ids)
        .values("country_id", "indicator_id", "period_start")
        .annotate(level=Max("level"))
        .order_by()
    )
    levels: dict[tuple[int, int], dict[date, int]] = defaultdict(dict)
    for row in rows:
        levels[(row["country_id"], row["indicator_id"])][row["period_start"]] = row["level"]
    return levels


def band_thresholds() -> dict[str, list[charts.Threshold]]:
    """The limits the engine's active threshold-band rules use (METHODS.md section 3, stored as rule
    parameters an analyst can change), per indicator code: the lower limit of each class from "watch" up.
    The charts draw what the engine applies, never a second copy of the numbers."""
    thresholds: dict[str, list[charts.Threshold]] = {}
    for parameters in AlertRule.objects.active().filter(method=Method.BANDS).values_list("parameters", flat=True):
        for code, bands in ((parameters or {}).get("bands") or {}).items():
            lower = None
            for upper, name, level in bands:
                if lower is not None and level and level >= 1:
                    label = f"{class_label(name)} ≥ {lower:g}"
                    thresholds.setdefault(code, []).append(charts.Threshold(value=lower, label=label, level=level))
                lower = upper
    return thresholds


def unit_label(indicator: Indicator, series: IndicatorSeries | None = None) -> str:
    if indicator.category == Indicator.Category.PRICE and series is not None:
        currency = series.currency or series.country.currency
        return indicator.unit.replace("LCU", currency)
    return indicator.unit


# --- country page -----------------------------------------------------------------------------------


@dataclass
class IndicatorPanel:
    indicator: Indicator
    chart_id: str
    spec: dict[str, Any] | None
    comparison: Comparison
    unit: str
    note: str = ""


@dataclass
class CountryPage:
    country: Country
    overall: dict[str, Any]
    pillars: list[dict[str, Any]]
    status_period: str | None
    open_alerts: list[dict[str, Any]]
    open_alert_total: int
    panels: list[IndicatorPanel]
    currency: str
    has_prices: bool
    latest_data: date | None


def country_page(*, country: Country, currency: str) -> CountryPage:
    return cached("country", lambda: _build_country_page(country=country, currency=currency), country.iso2, currency)


def _build_country_page(*, country: Country, currency: str) -> CountryPage:
    status = _country_status_all().get(country.iso2) or {}
    pillar_levels = status.get("pillars") or {}
    key_indicators = list(Indicator.objects.filter(is_key=True).order_by("pillar", "sort_order", "code"))
    series_by_key = _approved_series([country], key_indicators)
    bands = band_thresholds()
    has_prices = any(indicator.category == Indicator.Category.PRICE for indicator in key_indicators)
    rates = _exchange_rates([country]).get(country.pk, {}) if currency == "usd" else {}
    levels = _alert_levels([country.pk], [indicator.pk for indicator in key_indicators])
    latest = Observation.objects.approved().filter(country=country).aggregate(latest=Max("period_start"))["latest"]
    panels = []
    for indicator in key_indicators:
        series = series_by_key.get((country.pk, indicator.pk))
        if series is None:
            panels.append(
                IndicatorPanel(
                    indicator,
                    f"chart-{indicator.code}",
                    None,
                    Comparison(),
                    indicator.unit,
                    note=_("No approved data yet."),
                )
            )
            continue
        note = ""
        if series.markets_averaged:
            note = _("No national series: the average of %(count)s markets.") % {"count": series.markets_averaged}
        if currency == "usd" and indicator.category == Indicator.Category.PRICE:
            if not rates:
                note = " ".join([note, _("No exchange rate to the US dollar: shown in local currency.")]).strip()
            else:
                series = to_usd(series, rates)
                if series.missing_rates:
                    note = " ".join(
                        [
                            note,
                            _("%(count)s months without an exchange rate are not shown in USD.")
                            % {"count": series.missing_rates},
                        ]
                    ).strip()
        panels.append(_country_panel(series, levels.get((country.pk, indicator.pk), {}), note, bands))
    open_alerts, open_alert_total = _newest_open_alert_per_series(country)
    return CountryPage(
        country=country,
        overall=level_cell(status.get("overall")),
        pillars=[
            {"pillar": value, "name": label, **level_cell(pillar_levels.get(value))} for value, label in Pillar.choices
        ],
        status_period=status.get("period"),
        open_alerts=open_alerts,
        open_alert_total=open_alert_total,
        panels=panels,
        currency=currency,
        has_prices=has_prices,
        latest_data=latest,
    )


def _newest_open_alert_per_series(country: Country) -> tuple[list[dict[str, Any]], int]:
    """The newest open alert of each series (rule, indicator, place), with how many earlier periods of the
    same series are still open: a state with ten years of 'medium' stunting shows one line, not ten."""
    newest: dict[tuple, int] = {}
    earlier: Counter = Counter()
    keys = Alert.objects.open().for_country(country).order_by("-period_start", "-level")
    for pk, rule_id, indicator_id, place_key in keys.values_list("pk", "rule_id", "indicator_id", "place_key"):
        series = (rule_id, indicator_id, place_key)
        if series in newest:
            earlier[series] += 1
        else:
            newest[series] = pk
    alerts = alerts_with_relations(Alert.objects.filter(pk__in=newest.values())).order_by("-level", "-period_start")
    rows = _alert_rows(alerts[:COUNTRY_OPEN_ALERTS])
    for row in rows:
        alert = row["alert"]
        row["earlier"] = earlier[(alert.rule_id, alert.indicator_id, alert.place_key)]
    return rows, len(newest) + sum(earlier.values())


def _country_panel(
    series: IndicatorSeries, alert_levels: dict[date, int], note: str, bands: dict[str, list[charts.Threshold]]
) -> IndicatorPanel:
    indicator = series.indicator
    frequency = series.frequency
    starts = _chart_periods(series, CHART_PERIODS[frequency])
    steps = STEPS_PER_YEAR[frequency]
    unit = unit_label(indicator, series)
    lines = [
        charts.Series(_("Observed"), _points(series, starts, series.values.get), colour=charts.OBSERVED_COLOUR),
        charts.Series(
            _("Same period last year"),
            _points(series, starts, lambda start: series.values.get(_shift(frequency, start, -steps))),
            colour=charts.LAST_YEAR_COLOUR,
            dash=True,
        ),
        charts.Series(
            _("Seasonal norm (5-year average)") if frequency != ANNUAL else _("5-year average"),
            _points(series, starts, lambda start: five_year_average(series, start)[0]),
            colour=charts.AVERAGE_COLOUR,
            dash=True,
        ),
    ]
    shown = set(starts)
    spans = _alert_spans({start: level for start, level in alert_levels.items() if start in shown}, frequency)
    spec = charts.timeseries_chart(
        title=indicator.name,
        unit=unit,
        series=lines,
        thresholds=bands.get(indicator.code, []),
        spans=spans,
        frequency=frequency,
        description=_("%(indicator)s in %(country)s, %(unit)s")
        % {"indicator": indicator.name, "country": series.country.name, "unit": unit},
    )
    return IndicatorPanel(indicator, f"chart-{indicator.code}", spec, compare(series), unit, note)


# --- indicator page ---------------------------------------------------------------------------------


@dataclass
class StateRow:
    country: Country
    comparison: Comparison
    level: dict[str, Any]
    unit: str
    note: str = ""


@dataclass
class IndicatorPage:
    indicator: Indicator
    spec: dict[str, Any] | None
    rows: list[StateRow]
    in_usd: bool


def indicator_page(*, indicator: Indicator) -> IndicatorPage:
    return cached("indicator", lambda: _build_indicator_page(indicator=indicator), indicator.code)


def _build_indicator_page(*, indicator: Indicator) -> IndicatorPage:
    countries = list(Country.objects.order_by("name_en"))
    series_by_key = _approved_series(countries, [indicator])
    bands = band_thresholds()
    in_usd = indicator.category == Indicator.Category.PRICE
    rates = _exchange_rates(countries) if in_usd else {}
    open_levels = _latest_open_levels(indicator)
    lines, rows = [], []
    for country in countries:
        series = series_by_key.get((country.pk, indicator.pk))
        note = ""
        if series is not None and in_usd:
            if rates.get(country.pk):
                series = to_usd(series, rates[country.pk])
                if series.missing_rates:
                    note = _("%(count)s periods without an exchange rate left out.") % {"count": series.missing_rates}
            else:
                note = _("No exchange rate to the US dollar: not converted, not drawn.")
                series = IndicatorSeries(indicator=indicator, country=country, values={}, currency="USD")
        if series is not None and series.markets_averaged:
            note = " ".join([_("Average of %(count)s markets.") % {"count": series.markets_averaged}, note]).strip()
        unit = indicator.unit.replace("LCU", "USD") if in_usd else indicator.unit
        comparison = compare(series) if series is not None else Comparison()
        rows.append(StateRow(country, comparison, level_cell(open_levels.get(country.pk)), unit, note))
        if series is not None and series.values:
            starts = _chart_periods(series, CHART_PERIODS[indicator.frequency] * 2)
            lines.append(
                charts.Series(
                    country.name,
                    _points(series, starts, series.values.get),
                    colour=charts.COUNTRY_COLOURS.get(country.iso2),
                )
            )
    spec = None
    if lines:
        spec = charts.timeseries_chart(
            title=indicator.name,
            unit=indicator.unit.replace("LCU", "USD") if in_usd else indicator.unit,
            series=lines,
            thresholds=bands.get(indicator.code, []),
            frequency=indicator.frequency,
            height=320,
            description=_("%(indicator)s in the five states") % {"indicator": indicator.name},
        )
    return IndicatorPage(indicator=indicator, spec=spec, rows=rows, in_usd=in_usd)


def _latest_open_levels(indicator: Indicator) -> dict[int, int]:
    """Per state: the highest level among open alerts on this indicator in their latest period; normal (0)
    where the indicator is scored but nothing is open; absent (no data) where it is not scored at all."""
    levels: dict[int, int] = dict.fromkeys(
        Score.objects.scored().filter(indicator=indicator).values_list("country_id", flat=True).distinct().order_by(), 0
    )
    rows = (
        Alert.objects.open()
        .filter(indicator=indicator)
        .values("country_id", "period_start")
        .annotate(level=Max("level"))
        .order_by("country_id", "-period_start")
    )
    seen: set[int] = set()
    for row in rows:
        if row["country_id"] not in seen:
            seen.add(row["country_id"])
            levels[row["country_id"]] = row["level"]
    return levels


# --- alerts page ------------------------------------------------------------------------------------


def alerts_filtered(
    *,
    country: Country | None = None,
    pillar: str = "",
    level: int | None = None,
    method: str = "",
    status: str = "",
    period: str = "",
) -> QuerySet[Alert]:
    """Alerts matching the filters, newest period first. A year as the period matches all its months
    and quarters; `parse_period` has validated the text before it arrives here."""
    alerts = alerts_with_relations(Alert.objects.all())
    if country is not None:
        alerts = alerts.filter(country=country)
    if pillar:
        alerts = alerts.filter(pillar=pillar)
    if level is not None:
        alerts = alerts.filter(level=level)
    if method:
        alerts = alerts.filter(method=method)
    if status:
        alerts = alerts.filter(status=status)
    if period:
        parsed = parse_period(period)
        alerts = (
            alerts.filter(period__startswith=parsed.text)
            if parsed.frequency == ANNUAL
            else alerts.filter(period=parsed.text)
        )
    return alerts.order_by("-period_start", "-level", "country__name_en", "indicator__code", "place_key")
