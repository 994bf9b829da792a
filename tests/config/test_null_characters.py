"""A null character in an address is a 400 for every page and API call (PostgreSQL refused it in the
look-ups behind them: a 500 there, while SQLite let it through)."""

import pytest
from django.test import Client

from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/country/%00/",
        "/indicator/POU%00/",
        "/entry/%00/2023/",
        "/entry/open/?country=%00&period=2023",
        "/entry/check/?country=KG&indicator=POU%00&period=2023&value=1",
        "/entry/completeness/?country=%00",
        "/alerts/?country=KG&q%00=1",
        "/admin/monitoring/observation/?q=%00",
    ],
)
def test_a_page_address_with_a_null_character_is_a_400(reference, url):
    # given a signed-in analyst (staff, so the admin is reached too)
    client = Client()
    client.force_login(user_with_role("analyst", username="analyst", is_staff=True, is_superuser=True))

    # when they open an address holding %00
    response = client.get(url)

    # then it is refused as a bad request, with the reason
    assert response.status_code == 400
    assert "null character" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/periods/?country=%00", "/api/v1/countries/k%00/", "/api/v1/%00"])
def test_an_api_address_with_a_null_character_is_a_400_in_the_one_error_shape(reference, url):
    # given the analyst's API client
    client = Client()
    client.force_login(user_with_role("analyst", username="analyst"))

    # when the address holds %00
    response = client.get(url)

    # then the API's error shape says why
    assert response.status_code == 400
    assert "null character" in response.json()["error"]["message"]


def test_an_ordinary_address_is_untouched(reference):
    # when a page and an API list are read with ordinary queries
    # then they answer as before
    assert Client().get("/country/kg/").status_code == 200
    assert Client().get("/api/v1/regions/", {"country": "KG"}).status_code == 200
