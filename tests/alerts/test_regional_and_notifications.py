"""Regional alerts (FAO share rule, cereal balance) and the email digests."""

from datetime import date

import pandas as pd
import pytest
from django.core import mail
from django.test import TestCase
from django.utils import translation

from monitoring.alerts.models import Alert, RegionalAlert, Score
from monitoring.alerts.regional import (
    COMMODITY_CODES,
    _country_ifpa_levels,
    cereal_balance,
    country_ifpa_levels_of,
    price_share,
)
from monitoring.alerts.services import alerts_compute
from tests.alerts.conftest import write_annual, write_monthly
from tests.alerts.test_engine import AS_OF, spiky_prices
from tests.factories import MarketFactory, user_with_role


def test_price_share_counts_states_with_moderately_or_abnormally_high_ifpa():
    # given five states in one month: three high (two national, one through most of its markets)
    levels = pd.DataFrame(
        [
            {"country_id": 1, "national_level": 2.0, "high_markets": 0, "scored_markets": 0},
            {"country_id": 2, "national_level": 1.0, "high_markets": 0, "scored_markets": 0},
            {"country_id": 3, "national_level": float("nan"), "high_markets": 3, "scored_markets": 4},
            {"country_id": 4, "national_level": 0.0, "high_markets": 5, "scored_markets": 5},
            {"country_id": 5, "national_level": float("nan"), "high_markets": 1, "scored_markets": 2},
        ]
    ).assign(indicator_id=7, period="2021-03", period_start=date(2021, 3, 1))
    share = price_share(levels).iloc[0]
    # then the national series decides where there is one; 3 of 5 is a majority
    assert share["high_count"] == 3 and share["scored_count"] == 5
    assert share["share"] == pytest.approx(0.6) and bool(share["majority"])
    assert share["high_states"] == [1, 2, 3]


def test_cereal_balance_and_coverage_by_hand():
    # Kazakhstan exports a surplus of 6 (production 20, use 14); Kyrgyzstan and Tajikistan need 3 and 5
    values = pd.DataFrame(
        [
            (1, "CEREAL_PROD", "2020", 20.0), (1, "CEREAL_UTIL", "2020", 14.0),
            (2, "CEREAL_PROD", "2020", 2.0), (2, "CEREAL_UTIL", "2020", 5.0),
            (3, "CEREAL_PROD", "2020", 1.0), (3, "CEREAL_IMP", "2020", 5.0), (3, "CEREAL_EXP", "2020", 0.0),
        ],
        columns=["country_id", "code", "period", "value"],
    )  # fmt: skip
    row = cereal_balance(values, COMMODITY_CODES["cereals"]).iloc[0]
    # Tajikistan reports no utilisation: its apparent use is 1 + 5 - 0 = 6, a need of 5
    assert row["apparent"] == [3]
    assert row["balance"] == pytest.approx(23 - 25)
    assert row["coverage"] == pytest.approx(6 / 8)
    assert row["exporters"] == [1] and row["importers"] == [2, 3]
    assert row["level"] == 2 and row["method_class"] == "regional deficit"


@pytest.mark.django_db
def test_regional_price_alert_names_the_states_and_links_their_alerts(reference, default_rules):
    # given the same food-CPI surge in three states (and general CPI flat)
    months = 12 * 10
    surge = [100 * 1.005**t for t in range(months)]
    for t in range(months - 4, months):
        surge[t] *= 1.2
    wobble = [100 * (1.005 + 0.002 * ((t * 7) % 5 - 2) / 10) ** t for t in range(months)]
    surge = [s * w / (100 * 1.005**t) for t, (s, w) in enumerate(zip(surge, wobble, strict=True))]
    for country in (reference.kz, reference.kg, reference.tj):
        write_monthly(indicator=reference.indicators["CPI_FOOD"], country=country, values=surge, start_year=2011)
        write_monthly(indicator=reference.indicators["CPI_GENERAL"], country=country, values=[100.0] * months,
                      start_year=2011)  # fmt: skip
    # when the engine runs
    alerts_compute(as_of=date(2021, 1, 10), notify=False)
    # then December 2020 is a regional price alert naming the three states, linked to their alerts
    regional = RegionalAlert.objects.get(kind="price_share", period="2020-12")
    assert sorted(regional.states.values_list("iso2", flat=True)) == ["KG", "KZ", "TJ"]
    assert regional.score == pytest.approx(0.6)
    assert regional.alerts.count() == 3
    from monitoring.alerts.selectors import alert_sentence

    with translation.override("en"):
        assert "3 of the five states" in alert_sentence(regional) and "Kazakhstan" in alert_sentence(regional)
    with translation.override("ru"):
        assert "Казахстан" in alert_sentence(regional)


def test_the_share_rule_reads_the_same_levels_from_memory_as_from_the_database(reference, default_rules):
    # given national food-CPI series for two states (one surging) and bread prices in two markets of one
    months = 12 * 10
    wobble = [100 * (1.005 + 0.002 * ((t * 7) % 5 - 2) / 10) ** t for t in range(months)]
    surge = [value * (1.2 if t >= months - 4 else 1) for t, value in enumerate(wobble)]
    for country, values in ((reference.kz, wobble), (reference.kg, surge)):
        write_monthly(indicator=reference.indicators["CPI_FOOD"], country=country, values=values, start_year=2011)
        write_monthly(indicator=reference.indicators["CPI_GENERAL"], country=country, values=[100.0] * months,
                      start_year=2011)  # fmt: skip
    for code in ("osh", "bishkek"):
        write_monthly(indicator=reference.indicators["PRICE_BREAD"], country=reference.kg,
                      market=MarketFactory(country=reference.kg, code=code, name=code), values=spiky_prices(),
                      start_year=2011)  # fmt: skip
    alerts_compute(as_of=date(2021, 1, 10), notify=False)
    indicator_ids = {reference.indicators["CPI_FOOD"].pk, reference.indicators["PRICE_BREAD"].pk}
    stored = pd.DataFrame.from_records(
        list(Score.objects.values("method", "indicator_id", "country_id", "place_key", "period", "period_start",
                                  "level"))
    )  # fmt: skip
    stored["period_start"] = pd.to_datetime(stored["period_start"])

    # when the country levels are computed from the database and from the same rows in memory
    for since in (None, date(2020, 6, 1)):
        from_database = _country_ifpa_levels(indicator_ids, since)
        from_memory = country_ifpa_levels_of(stored[stored["method"] == "ifpa"], indicator_ids, since)

        # then they agree, row for row
        order = ["indicator_id", "country_id", "period"]
        assert since or from_database["scored_markets"].max() == 2 and from_database["national_level"].notna().any()
        pd.testing.assert_frame_equal(
            from_database.sort_values(order).reset_index(drop=True),
            from_memory.sort_values(order).reset_index(drop=True),
            check_dtype=False,
        )


def test_a_full_run_counts_the_stored_scores_of_a_rule_switched_off_as_an_incremental_run_does(
    reference, default_rules
):
    # given a regional price alert from a food-CPI surge in three states
    months = 12 * 10
    wobble = [100 * (1.005 + 0.002 * ((t * 7) % 5 - 2) / 10) ** t for t in range(months)]
    surge = [value * (1.2 if t >= months - 4 else 1) for t, value in enumerate(wobble)]
    for country in (reference.kz, reference.kg, reference.tj):
        write_monthly(indicator=reference.indicators["CPI_FOOD"], country=country, values=surge, start_year=2011)
        write_monthly(indicator=reference.indicators["CPI_GENERAL"], country=country, values=[100.0] * months,
                      start_year=2011)  # fmt: skip
    alerts_compute(as_of=date(2021, 1, 10), notify=False)
    assert RegionalAlert.objects.get(kind="price_share", period="2020-12").status == "open"

    # when the analyst switches the food-CPI rule off (its scores stay stored) and adds a Kazakhstan-only
    # IFPA rule, and the full recompute runs
    from monitoring.alerts.models import AlertRule

    original = default_rules["IFPA, food CPI (real prices)"]
    AlertRule.objects.filter(pk=original.pk).update(is_active=False)
    kazakhstan_only = AlertRule.objects.create(
        name="IFPA, food CPI, Kazakhstan", method="ifpa", indicator_codes="CPI_FOOD", place_scope="national",
        parameters=original.parameters,
    )  # fmt: skip
    kazakhstan_only.countries.add(reference.kz)
    alerts_compute(as_of=date(2021, 1, 10), notify=False)

    # then the share rule counted what the stored scores say, as an incremental run reads them: the three
    # states are still high, and the regional alert stays open
    stored = price_share(_country_ifpa_levels({reference.indicators["CPI_FOOD"].pk}, None))
    december = stored[stored["period"] == "2020-12"].iloc[0]
    assert december["majority"] and december["high_count"] == 3
    assert RegionalAlert.objects.get(kind="price_share", period="2020-12").status == "open"


@pytest.mark.django_db
def test_cereal_balance_alert_from_approved_data(reference, default_rules):
    write_annual(indicator=reference.indicators["WHEAT_PROD"], country=reference.kz, values={2021: 12_000_000})
    write_annual(indicator=reference.indicators["WHEAT_EXP"], country=reference.kz, values={2021: 5_000_000})
    write_annual(indicator=reference.indicators["WHEAT_PROD"], country=reference.uz, values={2021: 6_000_000})
    write_annual(indicator=reference.indicators["WHEAT_IMP"], country=reference.uz, values={2021: 3_000_000})
    alerts_compute(as_of=date(2022, 3, 1), notify=False)
    # wheat has no utilisation indicator: apparent use; KZ net exporter 5 Mt, UZ needs 3 Mt: covered
    assert not RegionalAlert.objects.filter(kind="cereal_balance").exists()
    write_annual(indicator=reference.indicators["WHEAT_PROD"], country=reference.tj, values={2021: 900_000})
    write_annual(indicator=reference.indicators["WHEAT_IMP"], country=reference.tj, values={2021: 3_000_000})
    alerts_compute(as_of=date(2022, 3, 1), notify=False)
    # now the needs (3 + 3 Mt) exceed the 5 Mt surplus: the region is short by 1 Mt, a warning naming the states
    regional = RegionalAlert.objects.get(kind="cereal_balance", period="2021")
    assert regional.level == 2 and regional.score == pytest.approx(5 / 6)
    assert regional.inputs["balance"] == pytest.approx(-1_000_000)
    assert sorted(regional.inputs["apparent_utilisation"]) == ["KZ", "TJ", "UZ"]
    assert sorted(regional.states.values_list("iso2", flat=True)) == ["KZ", "TJ", "UZ"]


@pytest.mark.django_db
def test_one_digest_per_person_per_run_to_the_countrys_approvers_and_the_analysts(reference, default_rules, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # given approvers of Kyrgyzstan and Kazakhstan and a regional analyst
    user_with_role("approver", reference.kg, username="kg_approver")
    user_with_role("approver", reference.kz, username="kz_approver")
    user_with_role("analyst", username="analyst")
    # and spikes in two Kyrgyz markets
    for code, seed in (("osh", 1), ("naryn", 2)):
        market = MarketFactory(country=reference.kg, code=code, name=code.title())
        write_monthly(indicator=reference.indicators["PRICE_BREAD"], country=reference.kg, market=market,
                      values=spiky_prices(seed=seed), start_year=2011)  # fmt: skip
    # when the engine runs (the digest is sent after the commit)
    with TestCase.captureOnCommitCallbacks(execute=True):
        alerts_compute(as_of=AS_OF)
    # then the Kyrgyz approver and the analyst each get one email listing every warning-or-above alert
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["analyst@example.org", "kg_approver@example.org"]
    digest = next(message for message in mail.outbox if message.to == ["kg_approver@example.org"])
    open_warnings = Alert.objects.filter(level__gte=2).exclude(status="resolved").count()
    assert open_warnings >= 2 and digest.body.count("\n- ") == open_warnings
    # and a second run with nothing new sends nothing
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        alerts_compute(as_of=AS_OF)
    assert mail.outbox == []
