"""The admin answers a malformed address or form with a 404 or the form's own errors, never a 500."""

import pytest

from monitoring.models import Observation
from tests.factories import ObservationFactory, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, reference):
    client.force_login(user_with_role("administrator", username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/monitoring/observation/abc/history/",
        "/admin/monitoring/observation/{pk}/history/abc/",
        "/admin/monitoring/observation/99999999999999999999999/history/",
        "/admin/monitoring/periodapproval/abc/history/",
        "/admin/alerts/alertrule/abc/history/",
        "/admin/alerts/alertrule/1/history/abc/",
    ],
)
def test_a_history_address_with_an_id_that_is_no_number_is_a_404(admin_client, url):
    # given a value with a history
    observation = ObservationFactory()

    # when the admin opens a history page whose id is not a number (or beyond the id column)
    response = admin_client.get(url.format(pk=observation.pk))

    # then it is not found (simple-history looked the id up as written: a ValueError, a 500)
    assert response.status_code == 404


@pytest.mark.parametrize("indicator", ["abc", "99999999999999999999999"])
def test_adding_a_value_without_a_valid_indicator_shows_the_form_errors(admin_client, indicator):
    # when the admin posts the add form with an indicator, a market and a value that are no such thing
    response = admin_client.post(
        "/admin/monitoring/observation/add/",
        {"indicator": indicator, "country": "abc", "market": indicator, "period": "", "value": "abc"},
    )

    # then the form comes back with the fields' errors (the model's check read the missing indicator, and
    # the autocomplete widget looked "abc" up while redrawing the form: both were a 500)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"indicator", "country", "market", "value"} <= set(errors)
    assert not Observation.objects.exists()
