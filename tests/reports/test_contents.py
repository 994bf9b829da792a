"""The report's contents computed from a snapshot: key messages and the regional cereal balance, checked
against figures computed by hand from tests/reports/scene.py."""

import pytest
from django.utils import translation

from monitoring.alerts.models import Score
from reports.contents import _Data, cereal_balance, report_contents
from reports.snapshot import snapshot_take
from tests.factories import scores_create, scores_update
from tests.reports.conftest import YEAR

pytestmark = pytest.mark.django_db


def contents_of(language: str = "en"):
    with translation.override(language):
        return report_contents(snapshot=snapshot_take(year=YEAR), language=language, version=1, narratives={})


def test_the_price_message_counts_abnormally_high_months_and_names_the_leading_commodity(scene):
    # given an annual IFPA value beside the monthly ones (it must not count as a thirteenth month)
    monthly = Score.objects.filter(country__iso2="KG", period=f"{YEAR}-02").get()
    scores_create([{
        "rule": monthly.rule, "method": "ifpa", "indicator": monthly.indicator, "country": monthly.country,
        "place_key": "", "period": str(YEAR), "period_start": monthly.period_start.replace(month=1), "score": 1.2,
        "level": 2,
    }])  # fmt: skip

    # when the contents are computed
    messages = contents_of().key_messages

    # then Kyrgyzstan's 7 abnormally high months of 12 are reported with wheat flour as the leader
    assert "Food prices were abnormally high in Kyrgyzstan in 7 of 12 months; wheat flour led the rise." in messages
    assert "Food prices in Kazakhstan stayed within their usual range in all 12 months scored in 2023." in messages


def test_moderately_high_months_are_not_called_usual(scene):
    # given two moderately high months (0.5 <= IFPA < 1) for Kazakhstan
    scores_update(Score.objects.filter(country__iso2="KZ", period__in=[f"{YEAR}-01", f"{YEAR}-02"]), score=0.7, level=1)

    # when the contents are computed, in English and in Russian
    english, russian = contents_of("en").key_messages, contents_of("ru").key_messages

    # then the message says so
    assert "Food prices in Kazakhstan were moderately high in 2 of 12 months of 2023, never abnormally high." in english
    assert (
        "Казахстан: цены на продовольствие были умеренно высокими в 2 из 12 месяцев 2023 года, "
        "но ни разу не аномально высокими." in russian
    )


def test_the_cereal_balance_matches_a_hand_computation(scene):
    # given the scene's 2023 cereal figures (Turkmenistan reports no utilisation)
    # when the balance is computed
    with translation.override("en"):
        balance = cereal_balance(_Data(snapshot_take(year=YEAR), "en"))

    # then, by hand: Kazakhstan 17.1M - 8.4M = +8.7M; needs: Kyrgyzstan 1.65M - 2.19M, Tajikistan 1.28M - 2.42M,
    # Turkmenistan 1.45M - (1.45M + 0.32M - 0.01M apparent utilisation), Uzbekistan 8.1M - 10.9M: 4.79M in all
    assert balance["commodity"] == "cereals"
    assert balance["exporters"] == ["KZ"] and balance["importers"] == ["KG", "TJ", "TM", "UZ"]
    assert balance["surplus"] == pytest.approx(8_700_000)
    assert balance["needs"] == pytest.approx(4_790_000)
    assert balance["coverage"] == pytest.approx(100 * 8.7 / 4.79)
    assert balance["regional_balance"] == pytest.approx(8_700_000 - 4_790_000)
    assert balance["rows"]["TM"]["apparent"] is True and balance["rows"]["KZ"]["apparent"] is False
