"""Fixtures of the alert-engine tests: monthly series written straight to the table, and the default rules
(a flushing test, such as the Celery one, removes the rows the data migration created)."""

from datetime import date

import pytest

from countries.models import Market
from monitoring.alerts.defaults import install_default_rules
from monitoring.alerts.models import AlertRule
from monitoring.models import Observation


@pytest.fixture
def default_rules(reference):
    install_default_rules(AlertRule)
    return {rule.name: rule for rule in AlertRule.objects.all()}


def month_periods(start_year: int, count: int, start_month: int = 1) -> list[tuple[str, date]]:
    periods = []
    for offset in range(count):
        year, month0 = divmod(start_year * 12 + start_month - 1 + offset, 12)
        periods.append((f"{year:04d}-{month0 + 1:02d}", date(year, month0 + 1, 1)))
    return periods


def write_monthly(
    *, indicator, country, values, start_year: int, market: Market | None = None, status: str = "approved"
) -> list[Observation]:
    """One observation per month from January of `start_year`; None leaves the month missing."""
    rows = []
    for (period, start), value in zip(month_periods(start_year, len(values)), values, strict=True):
        if value is None:
            continue
        rows.append(
            Observation(
                indicator=indicator,
                country=country,
                market=market,
                region=market.region if market else None,
                place_key=f"market:{market.code}" if market else "",
                period=period,
                period_start=start,
                value=float(value),
                status=status,
            )
        )
    return Observation.objects.bulk_create(rows)


def write_annual(*, indicator, country, values: dict[int, float | tuple[float, str]], status="approved"):
    rows = []
    for year, value in values.items():
        number, flag = value if isinstance(value, tuple) else (value, "")
        rows.append(
            Observation(
                indicator=indicator,
                country=country,
                place_key="",
                period=str(year),
                period_start=date(year, 1, 1),
                value=float(number),
                flag=flag,
                status=status,
            )
        )
    return Observation.objects.bulk_create(rows)
