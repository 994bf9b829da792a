"""A small, fully known data set for the summit report: a few indicators per state, monthly prices with
exchange rates (none for Turkmenistan, so the report must say it cannot convert), IFPA scores and alerts.
Also used by `benchmarks/bench_reports.py` (with more years and every price indicator)."""

import math
from dataclasses import dataclass, field

from countries.models import Country
from monitoring import periods
from monitoring.alerts.models import Alert, AlertRule, Level, Method, RegionalAlert
from monitoring.models import Indicator, Observation
from tests.factories import scores_create

ISO2 = ["KZ", "KG", "TJ", "TM", "UZ"]
ANNUAL_VALUES = {
    # code: {iso2: (value of year - 1, value of year)}
    "POU": {"KZ": (2.5, 2.5), "KG": (5.0, 4.6), "TJ": (9.1, 8.7), "UZ": (3.2, 2.9), "TM": (4.1, 4.0)},
    "STUNTING": {"KZ": (7.9, 7.5), "KG": (11.8, 11.2), "TJ": (15.3, 14.8), "UZ": (9.7, 9.2), "TM": (7.2, 6.8)},
    "CEREAL_PROD": {
        "KZ": (16_400_000, 17_100_000),
        "KG": (1_700_000, 1_650_000),
        "TJ": (1_300_000, 1_280_000),
        "UZ": (7_800_000, 8_100_000),
        "TM": (1_500_000, 1_450_000),
    },  # fmt: skip
    "CEREAL_IMP": {
        "KZ": (100_000, 120_000),
        "KG": (500_000, 560_000),
        "TJ": (1_100_000, 1_150_000),
        "UZ": (3_000_000, 3_100_000),
        "TM": (300_000, 320_000),
    },  # fmt: skip
    "CEREAL_EXP": {
        "KZ": (8_000_000, 8_500_000),
        "KG": (10_000, 12_000),
        "TJ": (0, 0),
        "UZ": (100_000, 110_000),
        "TM": (20_000, 10_000),
    },  # fmt: skip
    "CEREAL_UTIL": {
        "KZ": (8_300_000, 8_400_000),
        "KG": (2_150_000, 2_190_000),
        "TJ": (2_350_000, 2_420_000),
        "UZ": (10_500_000, 10_900_000),
    },  # fmt: skip
}
# Wheat flour price of January of the report year, local currency per kg.
FLOUR_BASE = {"KZ": 250.0, "KG": 45.0, "TJ": 7.5, "TM": 9.0, "UZ": 6500.0}
EXCHANGE_RATE = {"KZ": 460.0, "KG": 87.0, "TJ": 10.9, "UZ": 12400.0}  # no approved rate for Turkmenistan
# Months of the report year in which Kyrgyzstan's wheat flour IFPA is abnormally high (>= 1).
KG_HIGH_MONTHS = [2, 3, 4, 5, 6, 9, 10]


@dataclass
class Scene:
    year: int
    countries: dict[str, Country]
    observations: list[Observation] = field(default_factory=list)


def flour_price(iso2: str, year: int, report_year: int, month: int) -> float:
    """A deterministic monthly price: a slow trend plus a seasonal wave, rounded to cents."""
    months_from_start = (year - report_year) * 12 + (month - 1)
    return round(FLOUR_BASE[iso2] * (1 + 0.004 * months_from_start + 0.03 * math.sin(month / 12 * 2 * math.pi)), 2)


def scene_create(*, year: int, history_years: int = 1, price_codes: tuple[str, ...] = ("PRICE_WHEAT_FLOUR",)) -> Scene:
    countries = {country.iso2: country for country in Country.objects.filter(iso2__in=ISO2)}
    indicators = {indicator.code: indicator for indicator in Indicator.objects.all()}
    rows: list[Observation] = []

    def add(code: str, iso2: str, period: str, value: float, status: str = Observation.Status.APPROVED) -> None:
        rows.append(
            Observation(
                indicator=indicators[code],
                country=countries[iso2],
                period=period,
                period_start=periods.parse_period(period).start,
                place_key="",
                value=value,
                status=status,
                flag="<" if code == "POU" and value <= 2.5 else "",
            )
        )

    for code, by_country in ANNUAL_VALUES.items():
        for iso2, (previous, current) in by_country.items():
            add(code, iso2, str(year - 1), previous)
            add(code, iso2, str(year), current)
    for iso2 in ISO2:
        for price_index, code in enumerate(price_codes):
            for offset in range(history_years, -1, -1):
                for month in range(1, 13):
                    value = flour_price(iso2, year - offset, year, month) * (1 + 0.1 * price_index)
                    add(code, iso2, f"{year - offset}-{month:02d}", value)
        if iso2 in EXCHANGE_RATE:
            for month in range(1, 13):
                add("EXCHANGE_RATE_USD", iso2, f"{year}-{month:02d}", EXCHANGE_RATE[iso2] * (1 + 0.002 * month))
    # One value still waiting for approval, one draft: the completeness annex must count them.
    add("WASTING", "KG", str(year), 2.0, Observation.Status.SUBMITTED)
    add("OVERWEIGHT", "TJ", str(year), 3.1, Observation.Status.DRAFT)
    Observation.objects.bulk_create(rows, batch_size=2000)

    _scores_and_alerts_create(year=year, countries=countries, indicators=indicators)
    return Scene(year=year, countries=countries, observations=rows)


def _scores_and_alerts_create(*, year: int, countries: dict, indicators: dict) -> None:
    rule, _created = AlertRule.objects.get_or_create(name="IFPA on retail prices (test)", method=Method.IFPA)
    rule.indicators.add(indicators["PRICE_WHEAT_FLOUR"])
    flour = indicators["PRICE_WHEAT_FLOUR"]
    scores, alerts = [], []
    for iso2 in ("KZ", "KG", "TJ"):
        for month in range(1, 13):
            period = f"{year}-{month:02d}"
            high = iso2 == "KG" and month in KG_HIGH_MONTHS
            value = 1.4 if high else 0.2
            level = Level.WARNING if high else Level.NORMAL
            common = {
                "rule": rule,
                "method": Method.IFPA,
                "indicator": flour,
                "country": countries[iso2],
                "place_key": "",
                "period": period,
                "period_start": periods.parse_period(period).start,
                "score": value,
                "level": level,
            }
            scores.append({"method_class": "abnormally high" if high else "normal", **common})
            if high:
                alerts.append(Alert(pillar=flour.pillar, method_class="abnormally high", **common))
    scores_create(scores)
    Alert.objects.bulk_create(alerts)
    regional = RegionalAlert.objects.create(
        kind=RegionalAlert.Kind.PRICE_SHARE,
        indicator=flour,
        period=f"{year}-03",
        period_start=periods.parse_period(f"{year}-03").start,
        score=0.6,
        level=Level.WARNING,
    )
    regional.states.set([countries["KG"], countries["TJ"], countries["UZ"]])
