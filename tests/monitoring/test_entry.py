"""The data-entry pages through HTTP, as a clerk and an approver use them."""

import pytest
from django.test import Client

from monitoring import selectors
from monitoring.models import Observation, PeriodApproval
from tests.factories import ObservationFactory, user_with_role

pytestmark = pytest.mark.django_db

FORM = "/entry/kg/2023/"


@pytest.fixture
def clerk(reference):
    return user_with_role("clerk", reference.kg, username="kg_clerk")


@pytest.fixture
def approver(reference):
    return user_with_role("approver", reference.kg, username="kg_approver")


@pytest.fixture
def pou_history(reference):
    """Four approved years of Kyrgyz POU around 5 %: enough history for the outlier check."""
    for year, value in zip(range(2019, 2023), (5.0, 5.2, 4.9, 5.1), strict=True):
        ObservationFactory(country=reference.kg, period=str(year), value=value)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_form_groups_indicators_by_pillar_with_units_and_previous_values(clerk, pou_history):
    # when the clerk opens 2023
    html = logged_in(clerk).get(FORM).content.decode()

    # then the annual indicators are there, grouped, with their unit and the three earlier values
    assert "<legend>Access</legend>" in html
    assert "<legend>Utilisation</legend>" in html
    assert 'name="value_POU"' in html
    assert 'name="value_STUNTING"' in html
    assert 'name="value_PRICE_BREAD"' not in html  # monthly: another form
    assert 'name="value_CEREAL_IDR"' not in html  # derived: computed
    row = html[html.index('id="row-POU"') :]
    row = row[: row.index("</tr>")]
    assert "%" in row
    assert ">5.2<" in row and ">4.9<" in row and ">5.1<" in row


def test_a_value_outside_the_range_is_refused_with_a_message_and_nothing_is_saved(clerk):
    # when the clerk saves POU = 150 % with a valid STUNTING
    response = logged_in(clerk).post(FORM, {"value_POU": "150", "value_STUNTING": "11", "action": "save"})

    # then the page says why beside the field, and neither value is written
    assert response.status_code == 200
    html = response.content.decode()
    assert "above the highest valid value 100" in html
    assert not Observation.objects.exists()


def test_an_outlier_is_accepted_with_a_visible_warning(clerk, pou_history):
    # when the clerk saves POU = 15 % against a history around 5 %
    client = logged_in(clerk)
    response = client.post(FORM, {"value_POU": "15", "comment_POU": "new survey", "action": "save"}, follow=True)

    # then the value is saved as a draft, with its comment, and the warning is shown
    observation = Observation.objects.get(period="2023")
    assert (observation.value, observation.status, observation.comment) == (15.0, "draft", "new survey")
    html = response.content.decode()
    assert "unusual" in html
    assert "modified z-score" in html


def test_the_check_endpoint_answers_while_typing(clerk, pou_history, reference):
    client = logged_in(clerk)
    url = "/entry/check/"
    ok = client.get(url, {"country": "KG", "indicator": "POU", "period": "2023", "value": "5.05"}).json()
    assert ok == {"ok": True, "error": None, "warning": None, "score": pytest.approx(0.0, abs=0.5)}
    outlier = client.get(url, {"country": "KG", "indicator": "POU", "period": "2023", "value": "15"}).json()
    assert outlier["ok"] and outlier["warning"] and outlier["score"] > 3
    refused = client.get(url, {"country": "KG", "indicator": "POU", "period": "2023", "value": "-3"}).json()
    assert not refused["ok"] and "below" in refused["error"]
    assert client.get(url, {"country": "KG", "indicator": "POU", "period": "2023-01", "value": "5"}).status_code == 400
    assert client.get(url, {"country": "KG", "indicator": "POU", "period": "2023", "value": "x"}).status_code == 400
    assert client.get(url, {"country": "KZ", "indicator": "POU", "period": "2023", "value": "5"}).status_code == 403


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_the_check_endpoint_refuses_a_value_that_is_no_finite_number(clerk, pou_history, value):
    # when the form's check is asked about "nan" (float() reads it; the answer held a bare NaN, not JSON)
    response = logged_in(clerk).get(
        "/entry/check/", {"country": "KG", "indicator": "POU", "period": "2023", "value": value}
    )

    # then it is refused like any other text
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The value must be a number."


def test_monthly_outliers_compare_the_same_calendar_month(reference):
    # given a strongly seasonal price: January ~100, July ~200, four years
    indicator = reference.indicators["PRICE_POTATOES"]
    for year in range(2019, 2023):
        ObservationFactory(country=reference.kg, indicator=indicator, period=f"{year}-01", value=100 + year % 2)
        ObservationFactory(country=reference.kg, indicator=indicator, period=f"{year}-07", value=200 + year % 2)

    # then 200 in July is normal, 200 in January is an outlier
    july = selectors.value_check(country=reference.kg, indicator=indicator, period="2023-07", value=200)
    january = selectors.value_check(country=reference.kg, indicator=indicator, period="2023-01", value=200)
    assert july.warning is None
    assert january.warning is not None


def test_modified_z_score_by_hand():
    # median 10, absolute deviations [0, 0, 1, 1, 2] -> MAD 1; 0.6745 * |15 - 10| / 1 = 3.3725
    assert selectors.modified_z_score(15, [10, 10, 11, 9, 12]) == pytest.approx(3.3725)
    assert selectors.modified_z_score(15, [10, 10, 10, 10]) == 0.0


def test_submit_reject_correct_resubmit_approve_and_lock_through_the_pages(clerk, approver):
    clerk_client, approver_client = logged_in(clerk), logged_in(approver)
    # the clerk saves and submits
    clerk_client.post(FORM, {"value_POU": "5", "action": "submit"})
    assert Observation.objects.get().status == "submitted"
    # the approver rejects without a reason: refused
    page = approver_client.post(FORM, {"action": "reject", "reason": ""})
    assert page.status_code == 200
    assert Observation.objects.get().status == "submitted"
    # with a reason
    approver_client.post(FORM, {"action": "reject", "reason": "Use the FAO estimate"})
    # the clerk sees the reason
    html = clerk_client.get(FORM).content.decode()
    assert "Use the FAO estimate" in html
    # corrects and resubmits
    clerk_client.post(FORM, {"value_POU": "5.4", "action": "submit"})
    assert Observation.objects.get().status == "submitted"
    # the approver approves
    approver_client.post(FORM, {"action": "approve"})
    assert Observation.objects.get().status == "approved"
    assert PeriodApproval.objects.get().status == "approved"
    # the form is read-only and a posted change is ignored/refused
    html = clerk_client.get(FORM).content.decode()
    assert "approved and locked" in html
    assert 'name="value_POU"' in html and "readonly" in html[html.index('name="value_POU"') - 300 :][:600]
    clerk_client.post(FORM, {"value_POU": "9", "value_STUNTING": "3", "action": "save"})
    assert list(Observation.objects.values_list("value", flat=True)) == [5.4]
    # reopening needs a reason, then unlocks
    approver_client.post(FORM, {"action": "reopen", "reason": ""})
    assert PeriodApproval.objects.get().status == "approved"
    approver_client.post(FORM, {"action": "reopen", "reason": "Revised survey"})
    assert PeriodApproval.objects.get().status == "open"
    # the history page shows every step
    history = clerk_client.get(f"/entry/history/{Observation.objects.get().pk}/").content.decode()
    for text in ("kg_clerk", "kg_approver", "Use the FAO estimate", "Revised survey", "approved", "rejected", "page"):
        assert text in history


def test_viewers_and_anonymous_cannot_open_entry_pages(reference):
    viewer = user_with_role("viewer", username="viewer")
    assert logged_in(viewer).get(FORM).status_code == 403
    assert logged_in(viewer).get("/entry/").status_code == 403
    assert Client().get(FORM).status_code == 302  # to the login page


def test_index_lists_the_states_in_scope_and_opens_a_period(clerk):
    client = logged_in(clerk)
    html = client.get("/entry/").content.decode()
    assert '<option value="KG">Kyrgyzstan</option>' in html
    assert '<option value="KZ">' not in html
    assert client.get("/entry/open/", {"country": "KG", "period": "2023-05"}).url == "/entry/kg/2023-05/"
    assert client.get("/entry/open/", {"country": "KG", "period": "junk"}).status_code == 302
    assert client.get("/entry/open/", {"country": "KZ", "period": "2023"}).status_code == 403


@pytest.mark.parametrize(
    "url", ["/entry/kg/2023-13/", "/entry/xx/2023/", "/entry/kg/2023-Q1/", "/entry/history/999999/"]
)
def test_unknown_pages_are_404(clerk, url):
    assert logged_in(clerk).get(url).status_code == 404


def test_unknown_action_is_400_not_500(clerk):
    assert logged_in(clerk).post(FORM, {"action": "explode"}).status_code == 400


@pytest.mark.parametrize(
    ("period", "missing_link", "kept_link"),
    [("1900", 'rel="prev"', "/entry/kg/1901/"), ("2100", 'rel="next"', "/entry/kg/2099/"),
     ("1900-01", 'rel="prev"', "/entry/kg/1900-02/"), ("2100-12", 'rel="next"', "/entry/kg/2100-11/")],
)  # fmt: skip
def test_the_first_and_last_accepted_periods_open_without_a_500(clerk, period, missing_link, kept_link):
    # given a clerk
    # when they open the entry form of a period at the edge of the accepted years (1900-2100)
    response = logged_in(clerk).get(f"/entry/kg/{period}/")

    # then the form renders (its neighbours outside the range used to raise: a 500), without a link to the
    # period that cannot be opened, and with the link to the one that can
    assert response.status_code == 200
    html = response.content.decode()
    assert f"data entry for {period}" in html
    assert missing_link not in html
    assert f'href="{kept_link}"' in html
