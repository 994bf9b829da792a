"""The pages in a real browser: Debian's Chromium driven by Playwright against the live test server.

Screenshots of the overview, a country page and the alerts page are written to `artifacts/`.
Without Chromium these tests skip, saying why; with REQUIRE_SERVICES=1 (CI) they fail instead.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from countries.models import Membership
from monitoring.alerts.models import Alert
from monitoring.dashboards import selectors
from tests.conftest import chromium_path, require_service
from tests.dashboards.scene import build_scene
from tests.factories import PASSWORD, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; Django's ORM (used by the fixtures) refuses to
# run inside one unless told that this test process is not serving async code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    require_service(path is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    # Nothing may come from another site (no CDN): record every request that leaves the live server.
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))
    page.outside_requests = outside
    yield page
    context.close()


@pytest.fixture
def browser_scene(reference):
    return build_scene()


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _log_in(page, live_server, username: str, next_url: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form-narrow button[type=submit]")
    page.wait_for_load_state()


def test_overview_map_and_matrix_show_the_levels_and_a_state_opens_its_page_with_charts(
    page, live_server, browser_scene
):
    # given the levels in the database
    statuses = selectors._country_status_all()

    # when a visitor opens the overview
    page.goto(live_server.url + "/")

    # then the map has the five states, each coloured and labelled with its level
    states = page.locator("svg.region-map a.map-state")
    assert states.count() == 5
    for iso2, status in statuses.items():
        expected = "none" if status["overall"] is None else str(status["overall"])
        shape = page.locator(f'svg.region-map a[data-iso2="{iso2}"]')
        assert shape.get_attribute("data-level") == expected
        with translation.override("en"):
            from monitoring.charts import level_label

            assert level_label(status["overall"]) in shape.locator("text.map-level").text_content()
        # and the matrix agrees, cell by cell
        for pillar, level in status["pillars"].items():
            cell = page.locator(f'table.matrix tr[data-iso2="{iso2}"] td[data-pillar="{pillar}"]')
            assert cell.get_attribute("data-level") == ("none" if level is None else str(level))
    tajikistan_fill = page.eval_on_selector('a[data-iso2="TJ"] path', "el => getComputedStyle(el).fill")
    assert tajikistan_fill == "rgb(200, 0, 0)"  # emergency red
    _screenshot(page, "overview.png")

    # when the visitor clicks Kyrgyzstan on the map
    page.locator('svg.region-map a[data-iso2="KG"] path').click()
    page.wait_for_url(re.compile(r"/country/KG/$"))

    # then its page opens and a chart is drawn (SVG inside the vega-embed container)
    assert page.locator("h1").text_content().strip().startswith("Kyrgyzstan")
    page.wait_for_selector("#chart-PRICE_WHEAT_FLOUR svg.marks")
    assert page.locator("#chart-PRICE_WHEAT_FLOUR").get_attribute("data-rendered") == "true"
    assert page.locator("div.chart svg.marks").count() >= 5
    _screenshot(page, "country.png")
    assert page.outside_requests == []


def test_chart_shows_values_on_hover_and_legend_toggles_a_series(page, live_server, browser_scene):
    # given a country chart
    page.goto(live_server.url + "/country/KG/")
    chart = page.locator("#chart-STUNTING")
    page.wait_for_selector("#chart-STUNTING svg.marks")

    # when the pointer rests on the latest point of a line
    point = chart.locator("g.mark-symbol.role-mark path").last
    point.hover(force=True)

    # then the tooltip names the series and the period
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    text = tooltip.text_content()
    assert "Period2024" in text and any(
        name in text for name in ("Observed", "Same period last year", "5-year average")
    )

    # when a legend entry is clicked, the other lines fade
    chart.locator("g.role-legend-label text").first.click()
    page.wait_for_timeout(300)
    opacities = chart.locator("g.mark-line path").evaluate_all("paths => paths.map(p => p.getAttribute('opacity'))")
    assert any(opacity is not None and float(opacity) < 0.5 for opacity in opacities)


def test_switching_to_russian_translates_the_page_and_is_remembered(page, live_server, browser_scene, reference):
    # given the overview in English
    page.goto(live_server.url + "/")
    assert reference.kz.name_en in page.locator("table.matrix").text_content()

    # when the visitor picks Russian in the language switch
    page.select_option("#language-select", "ru")
    page.wait_for_load_state()
    page.wait_for_selector("html[lang=ru]")

    # then the states carry their Russian names, and translated interface text where catalogues exist
    assert reference.kz.name_ru in page.locator("table.matrix").text_content()
    with translation.override("ru"):
        from django.utils.translation import gettext

        alerts_word = gettext("Alerts")
    assert alerts_word in page.locator("nav.site-nav").text_content()

    # and the choice is remembered on the next page
    page.goto(live_server.url + "/country/TJ/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert reference.tj.name_ru in page.locator("h1").text_content()


def test_viewer_cannot_reach_the_entry_pages(page, live_server, browser_scene):
    # given a logged-in viewer
    user_with_role(Membership.Role.VIEWER, username="viewer_browser")
    _log_in(page, live_server, "viewer_browser")

    # then the navigation offers no data entry
    assert page.locator("nav.site-nav a[href='/entry/']").count() == 0

    # when they type the address anyway
    response = page.goto(live_server.url + "/entry/")

    # then they are refused
    assert response.status == 403
    assert page.locator("form[method=post] input[name^=value]").count() == 0


def test_analyst_acknowledges_an_alert_with_a_note(page, live_server, browser_scene):
    # given an analyst on the alerts page
    user_with_role(Membership.Role.ANALYST, username="analyst_browser")
    alert = next(alert for alert in browser_scene.alerts if alert.country.iso2 == "KG")
    _log_in(page, live_server, "analyst_browser", next_url="/alerts/?country=KG")
    page.wait_for_selector(f"#alert-{alert.pk}")

    # when they open the row's actions, write a note and acknowledge
    row = page.locator(f"#alert-{alert.pk}")
    row.locator("summary").click()
    row.locator("textarea[name=note]").fill("Ministry of Agriculture informed")
    row.locator("button", has_text="Acknowledge").click()
    page.wait_for_load_state()

    # then the page confirms, the row shows the new status and the note, and the database agrees
    assert "The alert is acknowledged." in page.locator("ul.messages").text_content()
    row = page.locator(f"#alert-{alert.pk}")
    assert row.get_attribute("data-status") == "acknowledged"
    assert "Ministry of Agriculture informed" in row.text_content()
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED
    assert alert.acknowledged_by.username == "analyst_browser"
    _screenshot(page, "alerts.png")


def test_pages_fit_a_phone_without_sideways_scrolling(browser, live_server, browser_scene):
    # given a phone-sized window
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        for url in ("/", "/country/KG/", "/alerts/"):
            # when the page is opened
            page.goto(live_server.url + url)
            # then it is no wider than the screen (tables scroll inside their own box)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (url, width)
    finally:
        context.close()


def test_keyboard_reaches_the_states_on_the_map(page, live_server, browser_scene):
    # when the visitor tabs through the overview
    page.goto(live_server.url + "/")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        iso2 = page.evaluate("document.activeElement && document.activeElement.getAttribute('data-iso2')")
        if iso2:
            reached.add(iso2)

    # then every state on the map takes the focus
    assert reached == {"KZ", "KG", "TJ", "TM", "UZ"}
