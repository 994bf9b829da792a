"""Every admin list answers a forged bulk-action selection with a message, never a 500, and changes nothing;
a real selection still works."""

import pytest
from django.contrib import admin
from django.urls import reverse

from countries.models import Market
from tests.factories import MarketFactory, user_with_role

pytestmark = pytest.mark.django_db

FORGED = ["abc", "99999999999999999999999", "-99999999999999999999999", "1.5"]


@pytest.fixture
def superuser_client(client, reference):
    client.force_login(user_with_role("administrator", username="root-admin", is_staff=True, is_superuser=True))
    return client


def _changelists() -> list[str]:
    return [f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist" for model in admin.site._registry]


@pytest.mark.parametrize("changelist", _changelists())
def test_a_forged_selection_is_refused_with_a_message(superuser_client, changelist):
    # given: a market (so that a delete would have something to remove)
    MarketFactory(code="kept-market")
    url = reverse(changelist)

    for value in FORGED:
        # when: a bulk delete names a row that cannot exist
        response = superuser_client.post(url, {"action": "delete_selected", "_selected_action": [value]})

        # then: the list again (or Django's own "no rows" answer), never an error page; nothing deleted
        assert response.status_code in (200, 302), (changelist, value)
    assert Market.objects.filter(code="kept-market").exists()


def test_a_real_selection_still_deletes(superuser_client):
    # given
    market = MarketFactory(code="to-delete")

    # when: the admin confirms the bulk delete
    response = superuser_client.post(
        reverse("admin:countries_market_changelist"),
        {"action": "delete_selected", "_selected_action": [str(market.pk)], "post": "yes"},
    )

    # then
    assert response.status_code == 302
    assert not Market.objects.filter(pk=market.pk).exists()
