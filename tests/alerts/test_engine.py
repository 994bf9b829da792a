"""The engine end to end on the database: scores kept for every period, alerts raised once, recompute
idempotent, lifecycle recorded, only approved values read."""

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from django.db import connection

from monitoring.alerts.engine import COPY_TYPES
from monitoring.alerts.models import Alert, AlertEvent, Score, ScoreSeries, SeriesState
from monitoring.alerts.services import alerts_compute
from monitoring.alerts.writes import QueuedWrites
from monitoring.models import Observation
from tests.alerts.conftest import write_monthly
from tests.factories import MarketFactory

AS_OF = date(2021, 2, 15)


def spiky_prices(months: int = 120, spike_at: int = 115, seed: int = 1) -> list[float]:
    """A seasonal price with trend and noise, and a sharp spike near the end."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    prices = 100 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, months)
    prices[spike_at:] += 25
    return [round(float(p), 3) for p in prices]


def bread_in_two_markets(reference) -> None:
    """Ten years of approved bread prices in Osh and Naryn, each with a spike of its own."""
    for seed, code in ((1, "osh"), (2, "naryn")):
        market = MarketFactory(country=reference.kg, code=code, name=code.title())
        write_monthly(
            indicator=reference.indicators["PRICE_BREAD"],
            country=reference.kg,
            market=market,
            values=spiky_prices(seed=seed),
            start_year=2011,
        )


def alert_table() -> list[tuple]:
    return sorted(
        Alert.objects.values_list(
            "rule_id", "indicator_id", "country_id", "place_key", "period", "level", "status", "method_class", "score"
        )
    )


@pytest.mark.django_db
def test_full_recompute_scores_every_period_and_raises_alerts_for_the_spike(reference, default_rules):
    # given ten years of approved wheat-flour prices in one market, with a spike in the last months
    market = MarketFactory(country=reference.kg, code="osh-bazaar", name="Osh bazaar")
    write_monthly(
        indicator=reference.indicators["PRICE_WHEAT_FLOUR"],
        country=reference.kg,
        market=market,
        values=spiky_prices(),
        start_year=2011,
    )
    # when the full recompute runs
    summary = alerts_compute(as_of=AS_OF, notify=False)
    # then every month has an ALPS score, normal ones included
    alps = Score.objects.filter(method="alps", place_key="market:osh-bazaar")
    assert alps.count() == 120
    assert alps.filter(level=0).exists()
    # and the spike raised ALPS alerts, crisis at its start, with a readable sentence
    spike_alert = Alert.objects.get(method="alps", period="2020-08")
    assert spike_alert.level == 3 and spike_alert.method_class == "crisis"
    assert spike_alert.status == Alert.Status.OPEN
    assert spike_alert.message_params["place_en"] == "Osh bazaar"
    assert AlertEvent.objects.filter(alert=spike_alert, kind=AlertEvent.Kind.RAISED).count() == 1
    assert summary.alerts_raised == Alert.objects.count()
    # and the series state points at the latest month
    state = SeriesState.objects.get(rule__method="alps", place_key="market:osh-bazaar")
    assert state.period == "2020-12"


@pytest.mark.django_db
def test_running_the_full_recompute_twice_gives_an_identical_alert_table(reference, default_rules):
    # given prices in two markets
    bread_in_two_markets(reference)
    alerts_compute(as_of=AS_OF, notify=False)
    first = alert_table()
    scores_first = sorted(Score.objects.values_list("rule_id", "place_key", "period", "score", "level"))
    events_first = AlertEvent.objects.count()
    # when it runs again on the same data
    summary = alerts_compute(as_of=AS_OF, notify=False)
    # then nothing changed: same alerts, same scores, no new event, no row rewritten
    assert first and alert_table() == first
    assert sorted(Score.objects.values_list("rule_id", "place_key", "period", "score", "level")) == scores_first
    assert AlertEvent.objects.count() == events_first
    assert summary.scores_changed == 0 and summary.alerts_raised == 0


@pytest.mark.django_db
def test_unapproved_values_are_not_read(reference, default_rules):
    # given a series whose values are all submitted, not approved
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    write_monthly(
        indicator=reference.indicators["PRICE_BREAD"],
        country=reference.kg,
        market=market,
        values=spiky_prices(),
        start_year=2011,
        status="submitted",
    )
    # when the engine runs
    alerts_compute(as_of=AS_OF, notify=False)
    # then nothing was scored
    assert not Score.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_a_later_normal_period_resolves_the_alert_and_a_revision_escalates(reference, default_rules):
    # given a spike that ended: prices back to normal in the last months
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    prices = spiky_prices(months=120, spike_at=200)
    prices[110] += 30  # one spiky month in 2020-03
    observations = write_monthly(
        indicator=reference.indicators["PRICE_BREAD"],
        country=reference.kg,
        market=market,
        values=prices,
        start_year=2011,
    )
    alerts_compute(as_of=AS_OF, notify=False)
    spike = Alert.objects.get(method="alps", period="2020-03")
    # then the alert of the spike month is resolved because a later month is normal
    assert spike.status == Alert.Status.RESOLVED
    kinds = list(AlertEvent.objects.filter(alert=spike).values_list("kind", flat=True))
    assert kinds == [AlertEvent.Kind.RAISED, AlertEvent.Kind.RESOLVED]
    # when the last month is revised sharply upwards and the engine recomputes only that series
    last = observations[-1]
    last.value = last.value + 40
    last.save(update_fields=["value"])
    before = spike.level
    alerts_compute(series=[(reference.kg.pk, last.indicator_id, last.place_key)], as_of=AS_OF, notify=False)
    # then the new month is an open crisis, and the earlier alert's level moved with the refit
    newest = Alert.objects.get(method="alps", period="2020-12")
    assert newest.level == 3 and newest.status == Alert.Status.OPEN
    spike.refresh_from_db()
    assert math.isfinite(spike.score) and spike.level <= before


@pytest.mark.django_db
def test_an_acknowledgement_made_during_a_run_is_not_reverted_by_it(reference, default_rules, monkeypatch):
    # given open alerts of a price spike, and a revision that changes the series' scores
    from monitoring.alerts import engine

    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    observations = write_monthly(indicator=reference.indicators["PRICE_BREAD"], country=reference.kg,
                                 market=market, values=spiky_prices(), start_year=2011)  # fmt: skip
    alerts_compute(as_of=AS_OF, notify=False)
    alert = Alert.objects.filter(method="alps", status=Alert.Status.OPEN).order_by("period").first()
    last = observations[-1]
    last.value = last.value + 40
    last.save(update_fields=["value"])

    # when a person acknowledges the alert while the recompute runs, after it read the stored alerts
    read = engine._StoredAlerts._read

    def read_then_acknowledge(stored):
        read(stored)
        Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.ACKNOWLEDGED, acknowledgement_note="seen")

    monkeypatch.setattr(engine._StoredAlerts, "_read", read_then_acknowledge)
    alerts_compute(series=[(reference.kg.pk, last.indicator_id, last.place_key)], as_of=AS_OF, notify=False)

    # then the run updated the alert's score but kept the person's acknowledgement
    updated = Alert.objects.get(pk=alert.pk)
    assert updated.score != alert.score
    assert (updated.status, updated.acknowledgement_note) == (Alert.Status.ACKNOWLEDGED, "seen")


@pytest.mark.django_db
def test_withdrawn_values_remove_the_series_scores_and_resolve_its_alerts(reference, default_rules):
    # given a scored series with open alerts
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    observations = write_monthly(
        indicator=reference.indicators["PRICE_BREAD"],
        country=reference.kg,
        market=market,
        values=spiky_prices(),
        start_year=2011,
    )
    alerts_compute(as_of=AS_OF, notify=False)
    assert Alert.objects.open().exists()
    # when its values are reopened (no longer approved) and the series is recomputed
    Observation.objects.filter(pk__in=[o.pk for o in observations]).update(status="submitted")
    alerts_compute(series=[(reference.kg.pk, observations[0].indicator_id, "market:osh")], as_of=AS_OF, notify=False)
    # then its scores and state are gone and every alert is resolved, none deleted
    assert not Score.objects.filter(place_key="market:osh").exists()
    assert not SeriesState.objects.filter(place_key="market:osh").exists()
    assert Alert.objects.exists() and not Alert.objects.open().exists()


@pytest.mark.django_db
def test_approving_a_component_recomputes_the_derived_ratio(reference, default_rules):
    # given cereal production, imports and exports of Kyrgyzstan for ten years (stable import dependency)
    from tests.alerts.conftest import write_annual

    years = range(2012, 2022)
    write_annual(
        indicator=reference.indicators["CEREAL_PROD"], country=reference.kg, values=dict.fromkeys(years, 1800.0)
    )
    write_annual(
        indicator=reference.indicators["CEREAL_IMP"],
        country=reference.kg,
        values={year: 500.0 + 5 * (year % 3) for year in years},
    )
    (exports,) = write_annual(indicator=reference.indicators["CEREAL_EXP"], country=reference.kg, values={2021: 10.0})
    write_annual(
        indicator=reference.indicators["CEREAL_EXP"],
        country=reference.kg,
        values=dict.fromkeys(range(2012, 2021), 10.0),
    )
    alerts_compute(as_of=AS_OF, notify=False)
    idr = Score.objects.get(indicator__code="CEREAL_IDR", period="2021")
    assert idr.value == pytest.approx((510 - 10) / (1800 + 510 - 10) * 100)  # 2021 imports: 500 + 5 * 2
    # when the 2021 exports are revised (a component) and only that series is recomputed
    Observation.objects.filter(pk=exports.pk).update(value=400.0)
    alerts_compute(series=[(reference.kg.pk, exports.indicator_id, "")], as_of=AS_OF, notify=False)
    # then the derived ratio changed, and the collapse in dependency is an outlier against its history
    idr = Score.objects.get(indicator__code="CEREAL_IDR", period="2021")  # a changed series is rewritten
    assert idr.value == pytest.approx((510 - 400) / (1800 + 510 - 400) * 100)
    assert idr.method_class == "outlier" and idr.level == 1
    assert Alert.objects.filter(indicator__code="CEREAL_IDR", period="2021", level=1).exists()


@pytest.mark.django_db
def test_since_limits_the_periods_whose_alerts_are_evaluated(reference, default_rules):
    # given ten years of spiky bread prices in Osh
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    write_monthly(
        indicator=reference.indicators["PRICE_BREAD"],
        country=reference.kg,
        market=market,
        values=spiky_prices(),
        start_year=2011,
    )
    spikes = alerts_compute(as_of=AS_OF, notify=False)
    Alert.objects.all().delete()
    ScoreSeries.objects.all().delete()

    # when the recompute is asked to start in January 2020
    summary = alerts_compute(since="2020-01", as_of=AS_OF, notify=False)

    # then only that year's alerts are raised, and the series' scores are whole (a chart draws all of it)
    assert spikes.alerts_raised > summary.alerts_raised > 0
    assert not Alert.objects.filter(period_start__lt=date(2020, 1, 1)).exists()
    assert Score.objects.filter(method="alps").count() == 120 and summary.scores_changed > 0


def test_a_series_state_without_its_series_is_removed_by_a_full_run(reference, default_rules):
    # given a series state whose series no longer exists (written before scores were stored by series)
    rule = default_rules["ALPS, market prices"]
    flour = reference.indicators["PRICE_WHEAT_FLOUR"]
    SeriesState.objects.create(
        rule=rule, indicator=flour, pillar=flour.pillar, country=reference.kg, place_key="market:gone",
        period="2019-12", period_start=date(2019, 12, 1), level=2,
    )  # fmt: skip

    # when the full recompute runs
    summary = alerts_compute(as_of=AS_OF, notify=False)

    # then the state is gone with the series it described
    assert summary.scores_deleted == 1
    assert not SeriesState.objects.filter(place_key="market:gone").exists()


def test_approving_with_no_active_rule_computes_nothing_and_fails_nothing(
    reference, default_rules, django_capture_on_commit_callbacks
):
    # given every rule switched off (an analyst may do so) and a submitted value
    from monitoring.alerts.models import AlertRule
    from monitoring.services import observations_approve
    from tests.factories import ObservationFactory, user_with_role

    AlertRule.objects.update(is_active=False)
    value = ObservationFactory(
        country=reference.kg, indicator=reference.indicators["POU"], period="2023", status="submitted"
    )
    approver = user_with_role("approver", reference.kg, username="kg_approver_norules")

    # when the approver approves it (the recompute runs eagerly after the commit)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        observations_approve(observations=[value], user=approver, door="page")
    assert len(callbacks) >= 1

    # then the value is approved and no score or alert was made
    value.refresh_from_db()
    assert value.status == "approved"
    assert not Score.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_an_id_column_with_a_missing_value_is_written_as_integers():
    # given an id column pandas holds as float because one row has none (a national score has no market)
    rows = pd.DataFrame({"market_id": [3.0, float("nan"), 12.0], "place_key": ["a", "", 'c, "quoted"']})

    # when it is bulk-loaded into an integer column (COPY on PostgreSQL, executemany elsewhere)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE tmp_loaded (market_id bigint, place_key varchar(80))")
        with QueuedWrites(COPY_TYPES) as writes:
            writes.load("tmp_loaded", rows, ["market_id", "place_key"])
        cursor.execute("SELECT market_id, place_key FROM tmp_loaded")
        loaded = cursor.fetchall()
        cursor.execute("DROP TABLE tmp_loaded")

    # then the ids arrive as integers and none (floats made the COPY fail: compute_alerts failed on
    # PostgreSQL with the demo data), and an empty text stays empty, not missing
    assert sorted(loaded, key=lambda row: row[1]) == [(None, ""), (3, "a"), (12, 'c, "quoted"')]


def test_alert_texts_are_json_that_names_what_the_sentence_needs(reference):
    # given two alert rows: a price with a quote, a backslash and Cyrillic in its place name, and a trend
    from types import SimpleNamespace

    from monitoring.alerts.engine import _inputs, _message_params

    flour = SimpleNamespace(name_en='Flour "first grade"', name_ru="Мука\\высший сорт", unit="KGS/kg")
    rows = pd.DataFrame(
        {
            "indicator_id": [1, 1],
            "country_id": [2, 2],
            "place_key": ["market:osh", ""],
            "value": [38.123456789, float("nan")],
            "basis": ["real", ""],
            "method": ["alps", "trend"],
            "score": [2.3, 3.0],
            "annual_growth": [0.01, float("nan")],
            "deviation_pct": [float("nan"), 12.3456],
            "flag": ["E", ""],
        }
    )
    names = {(2, "market:osh"): ("Osh", "Ош"), (2, ""): ("Kyrgyzstan", "Кыргызстан")}

    # when their sentence parameters and inputs are written
    params = [json.loads(text) for text in _message_params(rows, names, {1: flour})]
    inputs = [json.loads(text) for text in _inputs(rows)]

    # then each is the JSON of what the sentence and the record need, missing numbers left out
    assert params == [
        {"subject_en": 'Flour "first grade"', "subject_ru": "Мука\\высший сорт", "place_en": "Osh",
         "place_ru": "Ош", "value": 38.1235, "unit": "KGS/kg", "prices": "real",
         "annual_growth_pct": round((1.01**12 - 1) * 100, 2)},
        {"subject_en": 'Flour "first grade"', "subject_ru": "Мука\\высший сорт", "place_en": "Kyrgyzstan",
         "place_ru": "Кыргызстан", "value": None, "unit": "KGS/kg", "prices": "", "deviation_pct": 12.35,
         "rises": 3},
    ]  # fmt: skip
    assert inputs == [
        {"value": 38.123456789, "prices": "real", "annual_growth": 0.01, "flag": "E"},
        {"value": None, "deviation_pct": 12.3456},
    ]


def test_alerts_are_raised_for_the_look_back_only_and_older_anomalies_stay_scores(reference, default_rules):
    # given ten years of spiky bread prices in Osh (ALPS: a 24-month look-back by default)
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    write_monthly(indicator=reference.indicators["PRICE_BREAD"], country=reference.kg, market=market,
                  values=spiky_prices(), start_year=2011)  # fmt: skip

    # when the engine runs
    alerts_compute(as_of=AS_OF, notify=False)

    # then ALPS alerts exist for 2019 and 2020 only, while earlier alert-level periods remain scores
    alps_alerts = Alert.objects.filter(method="alps")
    assert alps_alerts.exists()
    assert min(alps_alerts.values_list("period_start", flat=True)) >= date(2019, 1, 1)
    assert Score.objects.filter(method="alps", level__gte=1, period_start__lt=date(2019, 1, 1)).exists()


def test_json_members_write_numpy_numbers_and_booleans_as_json():
    # given values as the engine may hold them: a numpy float, a boolean beside the equal integer, infinity
    from monitoring.alerts.engine import _json_members

    # when they become members of a JSON object
    members = _json_members("x", [np.float64(1.5), True, 1, float("inf"), None], keep_null=True)

    # then each is JSON of its own value (infinity has no JSON: null)
    assert members == ['"x": 1.5', '"x": true', '"x": 1', '"x": null', '"x": null']
