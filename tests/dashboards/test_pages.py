"""The dashboard pages over HTTP, as a visitor, a viewer, an approver and an analyst reach them."""

import csv
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from countries.models import Membership
from monitoring.alerts.models import Alert, AlertEvent
from monitoring.dashboards import selectors
from monitoring.models import Indicator, Observation
from tests.dashboards.scene import RATES
from tests.factories import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db


def _cells(html: str, attribute: str = "data-level") -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', html)


def _matrix_row(html: str, iso2: str) -> str:
    return re.search(rf'<tr data-iso2="{iso2}">(.*?)</tr>', html, re.S).group(1)


def test_overview_shows_every_state_on_the_map_and_in_the_matrix_with_the_levels_in_the_database(client, scene):
    # given the statuses the alert engine reports for the scene
    statuses = selectors._country_status_all()

    # when an anonymous visitor opens the home page
    response = client.get("/")

    # then each state is a link on the map, coloured AND labelled with its overall level
    html = response.content.decode()
    assert response.status_code == 200
    for iso2, status in statuses.items():
        expected = "none" if status["overall"] is None else str(status["overall"])
        assert re.search(
            rf'<a href="/country/{iso2}/" class="map-state" data-iso2="{iso2}" data-level="{expected}"', html
        )
        row = _matrix_row(html, iso2)
        pillar_levels = dict(re.findall(r'data-pillar="(\w+)" data-level="(\w+)"', row))
        for pillar, level in status["pillars"].items():
            assert pillar_levels[pillar] == ("none" if level is None else str(level))
    # and the scene's worst cases are there in words
    assert "emergency" in _matrix_row(html, "TJ")
    assert "no data" in _matrix_row(html, "TM")


def test_overview_links_every_element_to_its_detail(client, scene):
    # when
    html = client.get("/").content.decode()

    # then cells open the filtered alerts, states their page, alerts the list, and completeness is linked
    assert "/alerts/?country=KG&amp;pillar=access&amp;status=open" in html
    assert 'href="/country/TJ/"' in html
    assert f"#alert-{scene.alerts[0].pk}" in html
    assert "/entry/completeness/" in html
    assert "December 2024" in html  # latest approved data of each state
    # the open regional alert names its states, each a link to that state's alerts
    assert "/alerts/?country=UZ&amp;status=open&amp;period=2024-12" in html


def test_country_page_shows_pillars_open_alerts_and_a_chart_per_key_indicator(client, scene):
    # when
    response = client.get("/country/kg/")

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-pillar="access" data-level="2"' in html
    assert "Retail price: wheat flour (first grade) in Kyrgyzstan, 2024-12" in html
    key_codes = Indicator.objects.filter(is_key=True).values_list("code", flat=True)
    for code in key_codes:
        assert f'id="indicator-{code}"' in html
    assert 'id="chart-PRICE_WHEAT_FLOUR-spec"' in html  # the spec is in the page for the vendored library
    assert "vendor/vega/vega-bundle.js" in html
    assert "cdn" not in html.lower()


def test_country_chart_draws_observed_last_year_norm_thresholds_and_alert_periods(reference, scene):
    # when the country page's data is built for Tajikistan (stunting alert in 2024)
    page = selectors.country_page(country=reference.tj, currency="local")

    # then the stunting chart has the three lines, the WHO/UNICEF bands and the shaded alert year
    panel = next(panel for panel in page.panels if panel.indicator.code == "STUNTING")
    lines = panel.spec["layer"][-1]["encoding"]["color"]["scale"]["domain"]
    assert lines == ["Observed", "Same period last year", "5-year average"]
    datasets = panel.spec["datasets"]
    assert [row["value"] for row in datasets["thresholds"]] == [10.0, 20.0, 30.0]  # WHO/UNICEF stunting bands
    assert datasets["spans"] == [
        {"start": "2024-01-01", "end": "2025-01-01", "level": "emergency", "label": "emergency", "colour": "#c80000"}
    ]
    # and the comparison is last year and the mean of the five previous years
    comparison = panel.comparison
    assert comparison.latest_period == "2024"
    assert comparison.last_year == pytest.approx(
        Observation.objects.get(country=reference.tj, indicator__code="STUNTING", period="2023").value
    )
    previous = Observation.objects.filter(
        country=reference.tj, indicator__code="STUNTING", period__in=["2019", "2020", "2021", "2022", "2023"]
    ).values_list("value", flat=True)
    assert comparison.average == pytest.approx(sum(previous) / 5)


def test_country_page_converts_prices_to_usd_with_the_same_months_rate(reference, scene):
    # given Kyrgyzstan's wheat flour price and exchange rate of December 2024
    price = Observation.objects.get(
        country=reference.kg, indicator__code="PRICE_WHEAT_FLOUR", period="2024-12", place_key=""
    ).value
    rate = Observation.objects.get(country=reference.kg, indicator__code="EXCHANGE_RATE_USD", period="2024-12").value

    # when the page is switched to USD
    local = selectors.country_page(country=reference.kg, currency="local")
    usd = selectors.country_page(country=reference.kg, currency="usd")

    # then the latest price is the local price divided by that rate, and labelled so
    local_panel = next(panel for panel in local.panels if panel.indicator.code == "PRICE_WHEAT_FLOUR")
    usd_panel = next(panel for panel in usd.panels if panel.indicator.code == "PRICE_WHEAT_FLOUR")
    assert local_panel.comparison.latest == pytest.approx(price)
    assert local_panel.unit == "KGS/kg"
    assert usd_panel.comparison.latest == pytest.approx(price / rate)
    assert usd_panel.unit == "USD/kg"
    # and non-price indicators are unchanged
    assert next(p for p in usd.panels if p.indicator.code == "POU").comparison.latest == pytest.approx(
        next(p for p in local.panels if p.indicator.code == "POU").comparison.latest
    )


def test_country_page_says_so_when_there_is_no_exchange_rate(client, reference, scene):
    # given Turkmenistan's exchange rates are missing
    Observation.objects.filter(country=reference.tm, indicator__code="EXCHANGE_RATE_USD").delete()

    # when the page is asked in USD
    html = client.get("/country/TM/?currency=usd").content.decode()

    # then the prices stay in manat and the page says why
    assert "No exchange rate to the US dollar: shown in local currency." in html
    assert "TMT/kg" in html


def test_a_price_without_national_series_is_the_average_of_its_markets(reference, scene):
    # when (Tajikistan's bread prices are collected in two markets only)
    page = selectors.country_page(country=reference.tj, currency="local")

    # then
    panel = next(panel for panel in page.panels if panel.indicator.code == "PRICE_BREAD")
    assert panel.note == "No national series: the average of 2 markets."
    assert panel.comparison.latest == pytest.approx(6.0 + 12 * 0.1)


def test_public_pages_show_approved_data_only(client, reference, scene):
    # given a draft value far above everything approved (scene.draft_value, KZ wheat flour 2025-01)
    # when an anonymous visitor opens the pages that would show it
    pages = [client.get("/country/KZ/").content.decode(), client.get("/indicator/PRICE_WHEAT_FLOUR/").content.decode()]

    # then the draft is nowhere, and the latest period is the last approved one
    for html in pages:
        assert "987654" not in html and "987 654" not in html and "2025-01" not in html
    page = selectors.country_page(country=reference.kz, currency="local")
    assert next(p for p in page.panels if p.indicator.code == "PRICE_WHEAT_FLOUR").comparison.latest_period == "2024-12"


def test_a_new_approval_shows_at_once_despite_the_cache(client, reference, scene):
    # given the page was built and cached
    before = selectors.country_page(country=reference.kg, currency="local")
    panel = next(p for p in before.panels if p.indicator.code == "POU")
    assert panel.comparison.latest_period == "2024"

    # when a 2025 value is approved (a history row, as every service writes)
    observation = Observation.objects.create(
        indicator=reference.indicators["POU"], country=reference.kg, period="2025", period_start="2025-01-01",
        value=7.5, status=Observation.Status.APPROVED,
    )  # fmt: skip
    Observation.history.bulk_history_create([observation])

    # then the next request shows it
    after = selectors.country_page(country=reference.kg, currency="local")
    assert next(p for p in after.panels if p.indicator.code == "POU").comparison.latest_period == "2025"


def test_indicator_page_compares_the_five_states_in_usd(client, reference, scene):
    # when
    response = client.get("/indicator/price_wheat_flour/")
    page = selectors.indicator_page(indicator=reference.indicators["PRICE_WHEAT_FLOUR"])

    # then one chart with one line per state, in USD, and a row per state with latest, change and level
    assert response.status_code == 200
    assert page.in_usd
    assert page.spec["layer"][-1]["encoding"]["color"]["scale"]["domain"] == [
        "Kazakhstan", "Kyrgyzstan", "Tajikistan", "Turkmenistan", "Uzbekistan"]  # fmt: skip
    rows = {row.country.iso2: row for row in page.rows}
    kg = rows["KG"]
    december = Observation.objects.get(country=reference.kg, indicator__code="PRICE_WHEAT_FLOUR", period="2024-12")
    year_before = Observation.objects.get(country=reference.kg, indicator__code="PRICE_WHEAT_FLOUR", period="2023-12")
    rate_now = RATES["KG"] * 1.024
    rate_before = RATES["KG"] * 1.024
    assert kg.comparison.latest == pytest.approx(december.value / rate_now)
    assert kg.comparison.change_year == pytest.approx(
        (december.value / rate_now - year_before.value / rate_before) / (year_before.value / rate_before) * 100
    )
    assert kg.level["level"] == 2  # the open warning of 2024-12
    assert rows["KZ"].level["level"] == 0  # scored, nothing open
    assert rows["TM"].level["level"] is None  # never scored
    assert "USD/kg" in response.content.decode()


def test_unknown_state_or_indicator_is_404_not_500(client, scene):
    assert client.get("/country/XX/").status_code == 404
    assert client.get("/indicator/NOPE/").status_code == 404


def test_alerts_page_filters_by_state_pillar_level_method_status_and_period(client, scene):
    # when filtered to Kyrgyzstan's open access warnings of 2024 by IFPA
    html = client.get(
        "/alerts/",
        {"country": "KG", "pillar": "access", "level": "2", "method": "ifpa", "status": "open", "period": "2024"},
    ).content.decode()

    # then exactly its two alerts (2024-11 and 2024-12)
    kg_alerts = [alert for alert in scene.alerts if alert.country.iso2 == "KG"]
    assert sorted(_cells(html, "id")[-2:]) == sorted(f"alert-{alert.pk}" for alert in kg_alerts)
    assert "2 alerts" in html
    # and a single month
    assert "1 alert<" in client.get("/alerts/", {"country": "KG", "period": "2024-11"}).content.decode()
    # and the resolved one only under "resolved"
    resolved = client.get("/alerts/", {"status": "resolved"}).content.decode()
    assert "1 alert<" in resolved and "Kazakhstan" in resolved


@pytest.mark.parametrize(
    "query, message",
    [
        ({"period": "2024-13"}, "is not a period"),
        ({"level": "9"}, "Select a valid choice"),
        ({"country": "ZZ"}, "Select a valid choice"),
        ({"method": "<script>"}, "Select a valid choice"),
        ({"page": "abc"}, "6 alerts"),
    ],
)
def test_alerts_page_reports_bad_filters_instead_of_failing(client, scene, query, message):
    # when
    response = client.get("/alerts/", query)

    # then the page answers, names the problem and lists the alerts unfiltered by that field
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "<script>" not in response.content.decode().split("<main", 1)[1].split("</main>")[0].replace(
        "&lt;script&gt;", ""
    )


def test_export_csv_has_the_filtered_alerts_and_neutralises_formulas(client, scene):
    # given a note that a spreadsheet would run as a formula
    alert = scene.alerts[0]
    Alert.objects.filter(pk=alert.pk).update(acknowledgement_note='=HYPERLINK("http://x")')

    # when the KG list is exported
    response = client.get("/alerts/export.csv", {"country": "KG"})

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["State", "ISO code", "Indicator code"]
    assert len(rows) == 3
    assert {row[1] for row in rows[1:]} == {"KG"}
    assert '\'=HYPERLINK("http://x")' in [cell for row in rows for cell in row]


def test_export_xlsx_opens_with_the_same_rows_as_the_page(client, scene):
    # when
    response = client.get("/alerts/export.xlsx", {"status": "open"})

    # then
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "State"
    assert len(rows) - 1 == Alert.objects.open().count() == 5
    levels = {row[11] for row in rows[1:]}
    assert levels == {1, 2, 3}


def test_export_xlsx_leaves_out_control_characters_a_note_was_sent_with(client, scene):
    # given an acknowledgement note with control characters (the API accepts them in a note)
    alert = scene.alerts[0]
    Alert.objects.filter(pk=alert.pk).update(acknowledgement_note="checked\x01 with\x1f the ministry")

    # when the alerts are exported as a workbook
    response = client.get("/alerts/export.xlsx")

    # then the workbook is written (openpyxl refused the characters: a 500) with the note's text kept
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert "checked with the ministry" in [cell for row in rows for cell in row]


def test_export_in_russian_has_russian_names(client, scene):
    # when
    client.cookies["django_language"] = "ru"
    response = client.get("/alerts/export.csv", {"country": "KG"})

    # then
    assert "Кыргызстан" in response.content.decode("utf-8-sig") or "Киргизия" in response.content.decode("utf-8-sig")


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_analyst_acknowledges_and_resolves_an_alert_with_a_note(client, scene):
    # given an analyst and an open alert
    analyst = user_with_role(Membership.Role.ANALYST)
    alert = scene.alerts[0]
    _login(client, analyst)

    # when acknowledging, then resolving
    response = client.post(
        reverse("dashboards:alert-acknowledge", args=[alert.pk]), {"note": "Ministry informed", "next": "/alerts/"}
    )
    client.post(reverse("dashboards:alert-resolve", args=[alert.pk]), {"note": "Prices back to normal"})

    # then the alert carries both notes and the events record who did it
    assert response.status_code == 302 and response["Location"] == f"/alerts/#alert-{alert.pk}"
    alert.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED
    assert alert.acknowledgement_note == "Ministry informed" and alert.acknowledged_by == analyst
    assert alert.resolution_note == "Prices back to normal"
    assert list(AlertEvent.objects.filter(alert=alert).values_list("kind", "user")) == [
        ("acknowledged", analyst.pk),
        ("resolved", analyst.pk),
    ]


def test_viewer_cannot_manage_alerts_and_sees_no_buttons(client, scene):
    # given a viewer
    viewer = user_with_role(Membership.Role.VIEWER)
    alert = scene.alerts[0]
    _login(client, viewer)

    # when they look at the list and post an acknowledgement anyway
    html = client.get("/alerts/").content.decode()
    response = client.post(reverse("dashboards:alert-acknowledge", args=[alert.pk]), {"note": "x"}, follow=True)

    # then no action form is offered and the alert is unchanged, with a message saying why
    assert "Acknowledge or resolve" not in html
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert "You may not acknowledge alerts of this country." in response.content.decode()


def test_approver_manages_their_own_states_alerts_only(client, reference, scene):
    # given Kyrgyzstan's approver
    approver = user_with_role(Membership.Role.APPROVER, reference.kg)
    kg_alert = next(alert for alert in scene.alerts if alert.country.iso2 == "KG")
    tj_alert = next(alert for alert in scene.alerts if alert.country.iso2 == "TJ")
    _login(client, approver)

    # when acknowledging one alert of each state
    client.post(reverse("dashboards:alert-acknowledge", args=[kg_alert.pk]), {"note": "seen"})
    client.post(reverse("dashboards:alert-acknowledge", args=[tj_alert.pk]), {"note": "seen"})

    # then only Kyrgyzstan's changed, and only its rows offer the form
    kg_alert.refresh_from_db()
    tj_alert.refresh_from_db()
    assert kg_alert.status == Alert.Status.ACKNOWLEDGED
    assert tj_alert.status == Alert.Status.OPEN
    html = client.get("/alerts/", {"status": "open"}).content.decode()
    rows = re.findall(r'<tr id="alert-(\d+)".*?</tr>', html, re.S)
    assert rows
    for row_html in re.findall(r'<tr id="alert-\d+".*?</tr>', html, re.S):
        offers = "Acknowledge or resolve" in row_html
        assert offers == ('href="/country/KG/"' in row_html)


def test_anonymous_post_goes_to_login_and_changes_nothing(client, scene):
    # when
    alert = scene.alerts[0]
    response = client.post(reverse("dashboards:alert-resolve", args=[alert.pk]), {"note": "x"})

    # then
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert client.get(reverse("dashboards:alert-resolve", args=[alert.pk])).status_code == 405


def test_resolving_needs_a_note_and_too_long_a_note_is_refused(client, scene):
    # given
    _login(client, user_with_role(Membership.Role.ANALYST))
    alert = scene.alerts[0]

    # when
    empty = client.post(reverse("dashboards:alert-resolve", args=[alert.pk]), {"note": ""}, follow=True)
    long = client.post(reverse("dashboards:alert-acknowledge", args=[alert.pk]), {"note": "x" * 2001}, follow=True)

    # then
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    assert "Say why the alert is resolved." in empty.content.decode()
    assert "at most 2000 characters" in long.content.decode()


def test_unsafe_next_is_ignored(client, scene):
    _login(client, user_with_role(Membership.Role.ANALYST))
    alert = scene.alerts[0]
    response = client.post(
        reverse("dashboards:alert-acknowledge", args=[alert.pk]), {"note": "ok", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/alerts/#alert-{alert.pk}"


def test_pages_in_russian_use_russian_names(client, reference, scene):
    # when the language cookie says Russian
    client.cookies["django_language"] = "ru"
    html = client.get("/").content.decode()

    # then the states carry their Russian names from the database, and the html is marked Russian
    assert reference.kg.name_ru in html and reference.kz.name_ru in html
    assert '<html lang="ru">' in html


@pytest.mark.parametrize("frequency, text", [("monthly", "2023-11"), ("quarterly", "2023-Q4"), ("annual", "2023")])
def test_fast_period_arithmetic_agrees_with_the_periods_module(frequency, text):
    # given a period as monitoring.periods reads it
    from monitoring.periods import parse_period

    period = parse_period(text, frequency)

    # when shifted both ways by the dashboards' date arithmetic
    for steps in (-61, -12, -5, -1, 0, 1, 3, 14):
        shifted = selectors._shift(frequency, period.start, steps)

        # then it lands where Period.shift lands, written the same way
        assert shifted == period.shift(steps).start
        assert selectors._period_text(frequency, shifted) == period.shift(steps).text


def test_country_page_lists_the_newest_open_alert_of_each_series_with_its_earlier_periods(client, reference, scene):
    # given three more open years of Kyrgyz stunting alerts under one rule, older than a fourth
    from monitoring.alerts.models import Alert
    from monitoring.periods import parse_period

    stunting = Indicator.objects.get(code="STUNTING")
    for year, level in ((2019, 1), (2020, 1), (2021, 1), (2022, 2)):
        Alert.objects.create(
            rule=scene.rule, method="bands", indicator=stunting, pillar="utilisation", country=reference.kg,
            period=str(year), period_start=parse_period(str(year)).start, score=15.0, method_class="medium",
            level=level, message_params={"subject_en": "Stunting", "place_en": "Kyrgyzstan", "value": 15.0},
        )  # fmt: skip

    # when the country page is shown
    html = client.get("/country/kg/").content.decode()

    # then the series has one line, its newest period, and says three earlier periods are still open
    assert html.count("Stunting in Kyrgyzstan, 2022") == 1
    assert "Stunting in Kyrgyzstan, 2019" not in html
    assert "(and 3 earlier periods still open)" in html


@pytest.mark.parametrize("url", ["/", "/country/KG/", "/indicator/STUNTING/", "/alerts/"])
def test_public_pages_answer_a_head_request(client, scene, url):
    # when a monitoring probe or a proxy asks for the headers only
    response = client.head(url)

    # then the page answers as it would a GET, without a body
    assert response.status_code == 200
    assert response.content == b""
