"""The engine reproduces FAO's published IFPA (SDG 2.c.1, AG_FPA_CFPI) from the FAOSTAT monthly CPI,
imported through the product's own FAOSTAT import (METHODS.md IFPA step 10)."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from monitoring.alerts.models import AlertRule, Score
from monitoring.alerts.services import alerts_compute
from monitoring.imports.service import import_observations_file

DATA = Path(settings.BASE_DIR) / "data"
CPI_FILE = DATA / "monthly" / "faostat_cp_consumer_price_indices_monthly_central_asia.csv"
PUBLISHED_FILE = next((DATA / "un_sdg_goal2").glob("ddf--datapoints--ag_fpa_cfpi--*.csv"))
M49 = {398: "KZ", 417: "KG", 762: "TJ"}


def published_ifpa() -> pd.DataFrame:
    """FAO's published annual IFPA of the food CPI, read straight from the UN SDG file."""
    table = pd.read_csv(PUBLISHED_FILE)
    table = table[table["geo_area"].isin(M49) & table["year"].between(2010, 2021)]
    return pd.DataFrame(
        {"iso2": table["geo_area"].map(M49), "period": table["year"].astype(str), "published": table["ag_fpa_cfpi"]}
    )


def engine_annual(rule: AlertRule) -> pd.DataFrame:
    rows = Score.objects.filter(rule=rule, place_key="", period__regex=r"^\d{4}$").values_list(
        "country__iso2", "period", "score"
    )
    return pd.DataFrame.from_records(list(rows), columns=["iso2", "period", "engine"])


@pytest.mark.django_db
def test_engine_reproduces_the_published_food_cpi_ifpa_and_nominal_prices_do_worse(reference, default_rules):
    # given the FAOSTAT monthly CPI imported (approved) through the FAOSTAT import
    batch = import_observations_file(path=CPI_FILE, file_format="faostat", status="approved")
    assert batch.status == "imported", batch.errors[:3]
    real_rule = default_rules["IFPA, food CPI (real prices)"]
    nominal_rule = AlertRule.objects.create(
        name="IFPA, food CPI (nominal, for comparison)",
        method="ifpa",
        indicator_codes="CPI_FOOD",
        place_scope="national",
        parameters={"history_start_year": 2004},
    )
    # when the engine computes every rule
    alerts_compute(as_of=date(2025, 1, 15), notify=False)
    # then the annual real-price IFPA is within 0.1 of FAO's on average for KZ, KG and TJ, 2010-2021
    published = published_ifpa()
    real = published.merge(engine_annual(real_rule), on=["iso2", "period"])
    assert len(real) == 36
    real_gap = (real["engine"] - real["published"]).abs()
    assert real_gap.mean() < 0.1
    assert real_gap.max() < 0.3
    # and nominal prices, which FAO does not use, miss by much more
    nominal = published.merge(engine_annual(nominal_rule), on=["iso2", "period"])
    nominal_gap = (nominal["engine"] - nominal["published"]).abs()
    assert nominal_gap.mean() > real_gap.mean()
    assert nominal_gap.max() > 1.0
