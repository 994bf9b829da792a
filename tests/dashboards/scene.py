"""A small demo-like scene for the dashboard tests: ten years of monthly prices, the food CPI and exchange
rates, 25 years of annual indicators for all five states, a market-only price in Tajikistan, drafts that
must never show, and alerts of every level, written straight to the tables (the engine is tested in
tests/alerts/)."""

import math
from dataclasses import dataclass
from datetime import date

from countries.models import Country, Market
from monitoring.alerts.models import Alert, AlertRule, Level, Method, RegionalAlert, SeriesState
from monitoring.models import Indicator, Observation
from monitoring.periods import parse_period
from tests.factories import scores_create

MONTHLY = ["PRICE_WHEAT_FLOUR", "PRICE_BREAD", "PRICE_POTATOES", "CPI_FOOD", "EXCHANGE_RATE_USD"]
ANNUAL = ["POU", "FIES_MOD_SEV", "STUNTING", "WASTING", "DES_KCAL", "WHEAT_PROD"]
FIRST_YEAR, LAST_YEAR = 2015, 2024
RATES = {"KZ": 450.0, "KG": 87.0, "TJ": 10.9, "TM": 3.5, "UZ": 11000.0}
BASE = {
    "PRICE_WHEAT_FLOUR": 40.0,
    "PRICE_BREAD": 50.0,
    "PRICE_POTATOES": 30.0,
    "CPI_FOOD": 100.0,
    "POU": 5.0,
    "FIES_MOD_SEV": 12.0,
    "STUNTING": 12.0,
    "WASTING": 3.0,
    "DES_KCAL": 2900.0,
    "WHEAT_PROD": 3e6,
}
# What the scene raises, per state: (indicator, pillar, period, level, status).
ALERTS = {
    "KG": [
        ("PRICE_WHEAT_FLOUR", "access", "2024-11", Level.WARNING, Alert.Status.OPEN),
        ("PRICE_WHEAT_FLOUR", "access", "2024-12", Level.WARNING, Alert.Status.OPEN),
    ],
    "TJ": [
        ("STUNTING", "utilisation", "2024", Level.EMERGENCY, Alert.Status.OPEN),
        ("CPI_FOOD", "stability", "2024-12", Level.WATCH, Alert.Status.OPEN),
    ],
    "UZ": [("CPI_FOOD", "stability", "2024-12", Level.WATCH, Alert.Status.OPEN)],
    "KZ": [("PRICE_BREAD", "access", "2023-06", Level.WARNING, Alert.Status.RESOLVED)],
}
# Turkmenistan publishes little: no scored series, so its status is "no data".
SCORED = ["KZ", "KG", "TJ", "UZ"]


@dataclass
class Scene:
    alerts: list[Alert]
    regional: RegionalAlert
    rule: AlertRule
    draft_value: float


def _value(code: str, iso2: str, year: int, month: int = 1) -> float:
    base = BASE[code] * (1 + 0.1 * list(RATES).index(iso2))
    seasonal = 1 + 0.05 * math.sin(month / 12 * 2 * math.pi)
    return round(base * (1 + 0.04 * (year - FIRST_YEAR)) * seasonal, 3)


def build_scene() -> Scene:
    indicators = {indicator.code: indicator for indicator in Indicator.objects.filter(code__in=MONTHLY + ANNUAL)}
    countries = {country.iso2: country for country in Country.objects.all()}
    rows = []
    for iso2, country in countries.items():
        for code in MONTHLY:
            if iso2 == "TJ" and code == "PRICE_BREAD":
                continue  # market-only below
            for year in range(FIRST_YEAR, LAST_YEAR + 1):
                for month in range(1, 13):
                    value = (
                        RATES[iso2] * (1 + 0.002 * month)
                        if code == "EXCHANGE_RATE_USD"
                        else _value(code, iso2, year, month)
                    )
                    rows.append(_observation(indicators[code], country, f"{year}-{month:02d}", value))
        for code in ANNUAL:
            if iso2 == "TM" and code in ("FIES_MOD_SEV", "WASTING"):
                continue
            for year in range(2000, LAST_YEAR + 1):
                rows.append(
                    _observation(indicators[code], country, str(year), _value(code, iso2, max(year, FIRST_YEAR)))
                )
    tajikistan = countries["TJ"]
    for code, name in (("dushanbe", "Dushanbe"), ("khujand", "Khujand")):
        market, _ = Market.objects.get_or_create(country=tajikistan, code=code, defaults={"name": name})
        for year in range(2020, LAST_YEAR + 1):
            for month in range(1, 13):
                rows.append(
                    _observation(
                        indicators["PRICE_BREAD"], tajikistan, f"{year}-{month:02d}", 6.0 + month * 0.1, market=market
                    )
                )
    draft_value = 987654.0
    rows.append(
        _observation(
            indicators["PRICE_WHEAT_FLOUR"], countries["KZ"], "2025-01", draft_value, status=Observation.Status.DRAFT
        )
    )
    Observation.objects.bulk_create(rows, batch_size=2000)

    rule, _ = AlertRule.objects.get_or_create(name="dashboard scene rule", defaults={"method": Method.IFPA})
    alerts = []
    for iso2, raised in ALERTS.items():
        for code, pillar, period, level, status in raised:
            parsed = parse_period(period)
            alerts.append(
                Alert.objects.create(
                    rule=rule,
                    method=Method.IFPA,
                    indicator=indicators[code],
                    pillar=pillar,
                    country=countries[iso2],
                    period=period,
                    period_start=parsed.start,
                    score=1.2 + level / 10,
                    method_class="abnormally high",
                    level=level,
                    status=status,
                    message_params={
                        "subject_en": indicators[code].name_en,
                        "subject_ru": indicators[code].name_ru,
                        "place_en": countries[iso2].name_en,
                        "place_ru": countries[iso2].name_ru,
                        "annual_growth_pct": 12.5,
                        "prices": "real",
                    },
                )
            )
    scores = []
    for iso2 in SCORED:
        for code in ("PRICE_WHEAT_FLOUR", "STUNTING", "CPI_FOOD", "POU"):
            indicator = indicators[code]
            latest = [a for a in alerts if a.country.iso2 == iso2 and a.indicator_id == indicator.pk]
            period = "2024-12" if indicator.frequency == "monthly" else "2024"
            level = max((a.level for a in latest if a.period == period), default=Level.NORMAL)
            scores.append(
                {
                    "rule": rule,
                    "method": Method.IFPA,
                    "indicator": indicator,
                    "country": countries[iso2],
                    "period": period,
                    "period_start": parse_period(period).start,
                    "score": 0.1,
                    "method_class": "normal",
                    "level": level,
                }
            )
            SeriesState.objects.create(
                rule=rule,
                indicator=indicator,
                pillar=indicator.pillar,
                country=countries[iso2],
                period=period,
                period_start=parse_period(period).start,
                level=level,
            )
    scores_create(scores)
    regional = RegionalAlert.objects.create(
        kind=RegionalAlert.Kind.PRICE_SHARE,
        indicator=indicators["CPI_FOOD"],
        period="2024-12",
        period_start=date(2024, 12, 1),
        score=0.6,
        level=Level.WARNING,
        message_params={
            "subject_en": "Food prices",
            "subject_ru": "Цены на продовольствие",
            "high_count": 3,
            "states": [{"name_en": countries[c].name_en, "name_ru": countries[c].name_ru} for c in ("KG", "TJ", "UZ")],
        },
    )
    regional.states.set([countries["KG"], countries["TJ"], countries["UZ"]])
    return Scene(alerts=alerts, regional=regional, rule=rule, draft_value=draft_value)


def _observation(indicator, country, period, value, market: Market | None = None, status=Observation.Status.APPROVED):
    return Observation(
        indicator=indicator,
        country=country,
        market=market,
        place_key=f"market:{market.code}" if market else "",
        period=period,
        period_start=parse_period(period).start,
        value=value,
        status=status,
    )
