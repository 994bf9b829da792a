"""Completeness (DHIS2's reporting-rate report): expected, entered, submitted, approved per state,
indicator and period; the selector other apps reuse and the page."""

from datetime import date

import pytest
from django.test import Client

from monitoring.models import Indicator
from monitoring.selectors import completeness_for
from tests.factories import ObservationFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_expected_values_are_the_entered_indicators_periods_that_have_ended(reference):
    # given mid-2023: annual 2023 figures are not due yet; January to May are
    report = completeness_for(reference.kg, 2023, today=date(2023, 6, 15))
    rows = {row.indicator.code: row for row in report.rows}

    # then derived indicators are not expected, monthly ones are due for five months, annual ones not yet
    assert "CEREAL_IDR" not in rows
    assert rows["PRICE_BREAD"].expected == 5
    assert len(rows["PRICE_BREAD"].cells) == 12
    assert rows["POU"].expected == 0
    monthly = Indicator.objects.entered().filter(frequency="monthly").count()
    assert report.expected == 5 * monthly
    assert report.approved_percent == 0.0


def test_entered_submitted_and_approved_are_counted_per_indicator(reference):
    # given 2022 values of Kyrgyzstan in each status, one regional value and one Kazakh value
    bread = reference.indicators["PRICE_BREAD"]
    ObservationFactory(country=reference.kg, indicator=bread, period="2022-01", status="approved")
    ObservationFactory(country=reference.kg, indicator=bread, period="2022-02", status="submitted")
    ObservationFactory(country=reference.kg, indicator=bread, period="2022-03", status="draft")
    ObservationFactory(country=reference.kg, indicator=bread, period="2022-04", status="rejected")
    region = next(r for r in reference.regions.values() if r.country_id == reference.kg.pk)
    ObservationFactory(country=reference.kg, indicator=bread, period="2022-05", region=region, status="approved")
    ObservationFactory(country=reference.kz, indicator=bread, period="2022-06", status="approved")
    ObservationFactory(country=reference.kg, period="2022", status="approved")  # POU

    # when the report of 2022 is read after the year ended
    report = completeness_for(reference.kg, 2022, today=date(2023, 3, 1))
    row = next(row for row in report.rows if row.indicator.code == "PRICE_BREAD")

    # then national values count; the regional value fills no national gap; Kazakhstan is not Kyrgyzstan
    assert (row.expected, row.entered, row.submitted, row.approved) == (12, 4, 2, 1)
    assert [cell.status for cell in row.cells[:6]] == ["approved", "submitted", "draft", "rejected", None, None]
    assert (report.entered, report.submitted, report.approved) == (5, 3, 2)
    assert report.approved_percent == round(100 * 2 / report.expected, 1)


def test_the_completeness_page_shows_every_state_and_the_chosen_one_in_detail(reference):
    ObservationFactory(country=reference.kg, period="2022", status="approved")
    client = Client()
    client.force_login(user_with_role("viewer", username="viewer"))

    html = client.get("/entry/completeness/", {"year": "2022", "country": "KG"}).content.decode()

    assert 'id="completeness-summary"' in html
    for name in ("Kazakhstan", "Kyrgyzstan", "Tajikistan", "Turkmenistan", "Uzbekistan"):
        assert name in html
    assert 'id="completeness-detail"' in html
    assert client.get("/entry/completeness/", {"year": "not-a-year"}).status_code == 200
    assert Client().get("/entry/completeness/").status_code == 302


def test_the_completeness_of_the_last_accepted_year_renders(reference):
    # given a viewer
    client = Client()
    client.force_login(user_with_role("viewer", username="viewer"))

    # when they ask for 2100, or a year so large that it is clamped to 2100
    last_year = client.get("/entry/completeness/", {"year": "2100"})
    huge_year = client.get("/entry/completeness/", {"year": "99999999999999999999"})

    # then both pages render (deciding whether 2100's periods have ended used to raise, a 500)
    assert last_year.status_code == 200
    assert huge_year.status_code == 200
    assert 'id="completeness-summary"' in last_year.content.decode()
