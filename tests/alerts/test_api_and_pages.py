"""The API and the methodology page, as a user reaches them."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from monitoring.alerts.models import Alert, AlertEvent
from monitoring.alerts.services import alerts_compute
from tests.alerts.conftest import write_monthly
from tests.alerts.test_engine import AS_OF, spiky_prices
from tests.factories import PASSWORD, MarketFactory, user_with_role


@pytest.fixture
def scene(reference, default_rules):
    market = MarketFactory(country=reference.kg, code="osh", name="Osh")
    write_monthly(
        indicator=reference.indicators["PRICE_WHEAT_FLOUR"],
        country=reference.kg,
        market=market,
        values=spiky_prices(),
        start_year=2011,
    )
    alerts_compute(as_of=AS_OF, notify=False)
    return reference


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_scores_api_filters_by_country_market_method_and_period(scene):
    # when the public asks for ALPS scores of the Osh market in 2020
    response = Client().get(
        "/api/v1/scores/",
        {"country": "KG", "market": "osh", "method": "alps", "period_from": "2020-01", "period_to": "2020"},
    )
    # then it gets the twelve months with method, class, level, score and period
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["period"] for row in rows] == [f"2020-{m:02d}" for m in range(1, 13)]
    assert {"method", "method_class", "level", "score", "period"} <= set(rows[0])
    assert all(row["method"] == "alps" for row in rows)
    assert rows[0]["inputs"] == {"prices": "nominal"}  # retail prices are scored nominal, and say so


@pytest.mark.django_db
def test_bad_period_filter_is_a_400_in_the_one_error_shape(scene):
    response = Client().get("/api/v1/alerts/", {"period_from": "2020-13"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "period_from" in error["details"]


@pytest.mark.django_db
@pytest.mark.parametrize("rule", ["99999999999999999999999", "1.5", "0"])
def test_a_rule_filter_that_is_no_id_is_a_400_in_the_one_error_shape(reference, rule):
    # given an id beyond the id column's range, a fraction, or zero
    # when the public filters scores and alerts by it
    for url in ("/api/v1/scores/", "/api/v1/alerts/"):
        response = Client().get(url, {"rule": rule})

        # then the filter is refused by name (the huge id used to reach the database: a 500)
        assert response.status_code == 400, (url, response.content)
        assert "rule" in response.json()["error"]["details"]


@pytest.mark.django_db
def test_alerts_api_lists_alerts_with_a_sentence_and_filters_by_level_and_status(scene):
    response = Client().get("/api/v1/alerts/", {"country": "kg", "level": 3, "status": "open"})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert rows and all(row["level"] == 3 and row["status"] == "open" for row in rows)
    assert "ALPS" in rows[0]["sentence"] and "Osh" in rows[0]["sentence"]
    russian = Client().get("/api/v1/alerts/", {"country": "KG", "level": 3}, HTTP_ACCEPT_LANGUAGE="ru")
    assert russian.status_code == 200


@pytest.mark.django_db
def test_acknowledge_is_scoped_by_role_through_the_api(scene):
    alert = Alert.objects.filter(country=scene.kg, status="open").first()
    # an anonymous user cannot
    assert Client().post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "x"}).status_code in (401, 403)
    # an approver of another state cannot
    other = logged_in(user_with_role("approver", scene.kz, username="kz_approver"))
    response = other.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "not mine"})
    assert response.status_code == 403 and "error" in response.json()
    alert.refresh_from_db()
    assert alert.status == "open"
    # the approver of Kyrgyzstan can, and the event is recorded with the note
    own = logged_in(user_with_role("approver", scene.kg, username="kg_approver"))
    response = own.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "Market monitors sent"})
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    event = AlertEvent.objects.get(alert=alert, kind="acknowledged")
    assert event.note == "Market monitors sent" and event.user.username == "kg_approver"
    # a second acknowledge is refused with a message, not a 500
    again = own.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "again"})
    assert again.status_code == 400
    # resolving needs a note; an analyst resolves
    analyst = logged_in(user_with_role("analyst", username="analyst"))
    assert analyst.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": ""}).status_code == 400
    resolved = analyst.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "Prices eased after imports"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"


@pytest.mark.django_db
def test_a_manual_resolution_survives_a_recompute(scene):
    alert = Alert.objects.filter(country=scene.kg, status="open").first()
    analyst = logged_in(user_with_role("analyst", username="analyst"))
    analyst.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "handled"})
    alerts_compute(as_of=AS_OF, notify=False)
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution_note == "handled"


@pytest.mark.django_db
def test_status_api_gives_each_state_its_pillar_levels(scene):
    response = Client().get("/api/v1/status/")
    assert response.status_code == 200
    countries = response.json()["countries"]
    assert set(countries) == {"KZ", "KG", "TJ", "TM", "UZ"}
    assert countries["KG"]["pillars"]["access"] == 3 and countries["KG"]["overall"] == 3
    assert countries["KZ"]["overall"] is None  # no data


@pytest.mark.django_db
def test_regional_alerts_api_is_public(scene):
    response = Client().get("/api/v1/regional-alerts/")
    assert response.status_code == 200 and "results" in response.json()


@pytest.mark.django_db
def test_methodology_page_renders_in_english_and_russian(reference, default_rules):
    english = Client().get("/alerts/methodology/")
    assert english.status_code == 200
    assert b"ALPS" in english.content and b"IFPA" in english.content
    russian = Client().get("/alerts/methodology/", HTTP_ACCEPT_LANGUAGE="ru")
    assert russian.status_code == 200


@pytest.mark.django_db
def test_compute_alerts_command_prints_a_summary_and_refuses_an_unknown_country(scene, capsys):
    call_command("compute_alerts", "--country", "KG", "--since", "2020-01", "--no-notify")
    assert "Alerts computed" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("compute_alerts", "--country", "XX")
    with pytest.raises(CommandError):
        call_command("compute_alerts", "--since", "20-20")
