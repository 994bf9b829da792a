"""Scores are stored a series per row (lists of periods) and read back a period per row through the
`Score` view: what goes in must come out, exactly, on PostgreSQL (binary COPY) and SQLite (JSON text)."""

from datetime import date

import pandas as pd
import pytest
from django.db import connection

from monitoring.alerts.engine import scores_store
from monitoring.alerts.models import AlertRule, Method, Score, ScoreSeries
from tests.conftest import require_service

pytestmark = pytest.mark.django_db

FIELDS = ["period", "period_start", "value", "score", "method_class", "level", "insufficient_reason"]


def _rows(reference, rule) -> pd.DataFrame:
    kg, tj = reference.kg, reference.countries["TJ"]
    flour = reference.indicators["PRICE_WHEAT_FLOUR"]
    return pd.DataFrame(
        [
            # a national series: three months and the quarter they make, one month not scored
            (kg.pk, "", "2023-01", date(2023, 1, 1), 31.123456789012345, 0.1 + 0.2, "normal", 0, ""),
            (kg.pk, "", "2023-02", date(2023, 2, 1), None, None, "", None, "gap of more than 3 months"),
            (kg.pk, "", "2023-03", date(2023, 3, 1), 123456789.123456789, -2.5e-7, "высокий", 3, ""),
            (kg.pk, "", "2023-Q1", date(2023, 1, 1), 40.0, 1.25, "abnormally high", 2, ""),
            # a market series of another state, with a key that needs quoting anywhere
            (tj.pk, 'market:du "7", north', "2024-12", date(2024, 12, 1), 12.5, 0.0, "normal", 0, ""),
        ],
        columns=["country_id", "place_key", *FIELDS],
    ).assign(rule_id=rule.pk, method=Method.IFPA, indicator_id=flour.pk, basis="real")


def test_scores_read_back_as_written_to_ten_decimals(reference):
    # given score rows of two series, with missing values, non-Latin text and long decimals
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    rows = _rows(reference, rule)

    # when they are stored
    written = scores_store(rows)

    # then each series is one row, and the view gives every period back, value for value (values and
    # scores to ten decimals)
    assert written == 2 and ScoreSeries.objects.count() == 2
    stored = list(Score.objects.order_by("country_id", "period_start", "period").values("place_key", *FIELDS))
    expected = (
        rows.round({"value": 10, "score": 10})
        .sort_values(["country_id", "period_start", "period"])[["place_key", *FIELDS]]
        .astype(object)
        .where(rows.notna(), None)
        .to_dict("records")
    )
    assert stored == expected
    assert Score.objects.filter(insufficient_reason="gap of more than 3 months").get().score is None
    assert {score.inputs["prices"] for score in Score.objects.all()} == {"real"}


def test_lists_stored_with_nulls_by_an_earlier_version_read_the_same(reference):
    require_service(connection.vendor == "postgresql", "the lists' NULL sentinels are PostgreSQL's (set DATABASE_URL)")
    # given stored series whose missing values, scores and levels are NULL elements, as the engine wrote them
    # before it wrote NaN and -1 (migration 0014)
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    scores_store(_rows(reference, rule))
    fields = ["period", "value", "score", "level"]
    written = list(Score.objects.order_by("country_id", "period_start", "period").values(*fields))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE alerts_scoreseries SET scored_values = array_replace(scored_values, 'NaN', NULL), "
            "scores = array_replace(scores, 'NaN', NULL), levels = array_replace(levels, -1::int2, NULL)"
        )
        cursor.execute(
            "SELECT count(*) FROM alerts_scoreseries WHERE array_position(levels, NULL) IS NOT NULL "
            "AND array_position(scores, NULL) IS NOT NULL AND array_position(scored_values, NULL) IS NOT NULL"
        )
        assert cursor.fetchone()[0] == 1  # the national series has its missing month as NULLs now

    # when the view reads them, then they are what it read before: missing is None
    assert list(Score.objects.order_by("country_id", "period_start", "period").values(*fields)) == written
    assert Score.objects.filter(level__isnull=True).get().period == "2023-02"


def test_a_series_lists_read_through_the_model_as_written(reference):
    # given a stored national series, one of its months not scored
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    scores_store(_rows(reference, rule))

    # when its row is read through the model, then its lists are the periods' values, missing ones None
    series = ScoreSeries.objects.get(place_key="")
    assert series.periods == ["2023-01", "2023-Q1", "2023-02", "2023-03"]
    assert series.method_classes == ["normal", "abnormally high", "", "высокий"]
    assert series.insufficient_reasons == ["", "", "gap of more than 3 months", ""]


def test_a_text_holding_a_list_separator_is_refused(reference):
    require_service(connection.vendor == "postgresql", "texts are joined into one on PostgreSQL (set DATABASE_URL)")
    # given a class name holding the character that separates a stored list's texts
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    rows = _rows(reference, rule)
    rows.loc[0, "method_class"] = "high\x1fer"

    # when the series are stored, then they are refused, saying why, and nothing is written
    with pytest.raises(ValueError, match="U\\+001F"):
        scores_store(rows)
    assert not ScoreSeries.objects.exists()


def test_the_view_filters_and_names_each_period_once(reference):
    # given two stored series
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    scores_store(_rows(reference, rule))

    # when they are filtered as the API filters them
    high = Score.objects.filter(level__gte=2, period_start__gte=date(2023, 1, 1)).order_by("period")

    # then the filter applies to the periods, and every period has its own id
    assert [score.period for score in high] == ["2023-03", "2023-Q1"]
    ids = list(Score.objects.values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 5
    assert Score.objects.get(pk=high[0].pk).method_class == "высокий"


def test_storing_a_series_again_replaces_it(reference):
    # given a stored series
    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    rows = _rows(reference, rule)
    scores_store(rows)

    # when the national series is stored again with one period fewer
    national = rows[rows["place_key"] == ""]
    scores_store(national[national["period"] != "2023-Q1"])

    # then it holds the new periods only, and the other series is untouched
    assert ScoreSeries.objects.count() == 2
    assert list(Score.objects.filter(place_key="").order_by("period").values_list("period", flat=True)) == [
        "2023-01",
        "2023-02",
        "2023-03",
    ]
    assert Score.objects.filter(place_key__startswith="market:").count() == 1


def test_a_score_is_found_by_its_id_in_the_api_and_the_admin(reference, client):
    # given stored scores and an analyst of the admin site
    from tests.factories import user_with_role

    rule = AlertRule.objects.create(name="IFPA (test)", method=Method.IFPA)
    scores_store(_rows(reference, rule))
    quarter = Score.objects.get(period="2023-Q1")

    # when one score is asked for by its id (through its series row: the view's id has no index)
    found = client.get(f"/api/v1/scores/{quarter.pk}/")

    # then it is that score, and ids that are no score's are "not found", never an error
    assert found.status_code == 200 and found.json()["period"] == "2023-Q1"
    for missing in ("abc", str(quarter.pk + 50), "99999999999999"):
        assert client.get(f"/api/v1/scores/{missing}/").status_code == 404
    client.force_login(user_with_role("analyst", username="score_analyst", is_staff=True))
    page = client.get(f"/admin/alerts/score/{quarter.pk}/change/")
    assert page.status_code == 200 and "2023-Q1" in page.content.decode()
    assert client.get("/admin/alerts/score/abc/change/").status_code in (302, 404)


def test_storing_no_rows_writes_nothing():
    # when an empty frame of scores is stored, then nothing is written and nothing fails
    assert scores_store(pd.DataFrame(columns=["rule_id", "indicator_id", "country_id", "place_key"])) == 0
    assert not ScoreSeries.objects.exists()
