"""The whole entry workflow in a real browser (Playwright driving Debian's Chromium against the live
server): the Kyrgyz clerk enters a period, meets the range refusal and the outlier warning while typing
and on save, submits; the approver rejects with a reason; the clerk sees it, corrects and resubmits; the
approver approves; the period is locked; the value's history shows every step."""

import os
from pathlib import Path

import pytest

from monitoring.models import Observation, PeriodApproval
from tests.conftest import chromium_path, require_service
from tests.factories import PASSWORD, ObservationFactory, user_with_role

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    require_service(chromium_path() is not None, "Chromium is not installed (set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev requirements install it
        require_service(False, "the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test are safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


def log_in(browser, base_url: str, username: str, next_path: str):
    context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.form-narrow button[type=submit]")
    page.wait_for_url(f"**{next_path}")
    return page


def test_clerk_and_approver_take_a_period_from_draft_to_locked(live_server, reference, browser):
    # given the Kyrgyz clerk and approver, and four approved years of POU around 5 %
    user_with_role("clerk", reference.kg, username="kg_clerk")
    user_with_role("approver", reference.kg, username="kg_approver")
    for year, value in zip(range(2019, 2023), (5.0, 5.2, 4.9, 5.1), strict=True):
        ObservationFactory(country=reference.kg, period=str(year), value=value)
    form_path = "/entry/kg/2023/"

    # when the clerk types a value outside the valid range, the check refuses it while she types
    clerk = log_in(browser, live_server.url, "kg_clerk", form_path)
    clerk.fill("input[name=value_POU]", "150")
    clerk.locator("#row-POU .check .error").wait_for()
    assert "above the highest valid value" in clerk.inner_text("#row-POU .check")
    # and the server refuses it on save, writing nothing
    clerk.click("button[value=save]")
    clerk.wait_for_load_state()
    assert "above the highest valid value" in clerk.inner_text("#row-POU .field-error")
    assert not Observation.objects.filter(period="2023").exists()

    # when she types an outlier, she is warned but may save it with a comment
    clerk.fill("input[name=value_POU]", "15")
    clerk.locator("#row-POU .check .warning").wait_for()
    assert "unusual" in clerk.inner_text("#row-POU .check")
    clerk.fill("input[name=comment_POU]", "Preliminary survey figure")
    clerk.fill("input[name=value_STUNTING]", "11")
    clerk.click("button[value=submit]")
    clerk.wait_for_load_state()
    assert "submitted for approval" in clerk.inner_text(".messages")
    assert "unusual" in clerk.inner_text(".messages")
    assert set(Observation.objects.filter(period="2023").values_list("status", flat=True)) == {"submitted"}

    # then the approver rejects with a reason
    approver = log_in(browser, live_server.url, "kg_approver", form_path)
    approver.fill("#reject-reason", "POU 15 % contradicts the FAO estimate; please check the survey.")
    approver.click("#reject-form button[value=reject]")
    approver.wait_for_load_state()
    assert PeriodApproval.objects.get(country=reference.kg, period="2023").status == "rejected"

    # and the clerk sees the reason, corrects the value and resubmits
    clerk.goto(f"{live_server.url}{form_path}")
    assert "contradicts the FAO estimate" in clerk.inner_text("#rejection-reason")
    assert "contradicts the FAO estimate" in clerk.inner_text("#row-POU")
    clerk.fill("input[name=value_POU]", "5.3")
    clerk.fill("input[name=comment_POU]", "Corrected from the final survey report")
    clerk.click("button[value=submit]")
    clerk.wait_for_load_state()
    assert Observation.objects.get(period="2023", indicator__code="POU").status == "submitted"

    # when the approver approves
    approver.goto(f"{live_server.url}{form_path}")
    approver.click("#approve-button")
    approver.wait_for_load_state()
    assert "approved" in approver.inner_text(".messages")

    # then the period is locked: read-only fields, no save button, a forged save is refused
    clerk.goto(f"{live_server.url}{form_path}")
    assert clerk.is_visible("#locked-notice")
    assert clerk.get_attribute("input[name=value_POU]", "readonly") is not None
    assert clerk.locator("button[value=save]").count() == 0
    status = clerk.evaluate(
        """async () => {
            const data = new FormData(document.getElementById('entry-form'));
            data.set('value_POU', '99'); data.set('action', 'save');
            const response = await fetch(location.href, {method: 'POST', body: data});
            return response.status;
        }"""
    )
    assert status in (200, 302, 403)
    assert Observation.objects.get(period="2023", indicator__code="POU").value == 5.3

    # and the value's history, opened from the form, shows every step with who and through which door
    clerk.click("#row-POU a.history-link")
    clerk.wait_for_url("**/entry/history/**")
    history = clerk.inner_text("#value-history")
    rows = clerk.locator("#value-history tbody tr")
    assert rows.count() == 6  # draft 15, submitted, rejected, corrected 5.3, submitted, approved
    for text in ("kg_clerk", "kg_approver", "15", "5.3", "Rejected", "Approved", "page", "contradicts the FAO"):
        assert text.lower() in history.lower(), text
    period_history = clerk.inner_text("#period-history")
    assert "approved and locked" in period_history.lower()
    ARTIFACTS.mkdir(exist_ok=True)
    clerk.screenshot(path=str(ARTIFACTS / "entry_workflow_history.png"), full_page=True)
    clerk.goto(f"{live_server.url}{form_path}")
    clerk.screenshot(path=str(ARTIFACTS / "entry_workflow_locked_form.png"), full_page=True)
