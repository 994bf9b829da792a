"""The query and weight budgets on the real demo data that `make run` loads (the public files in data/,
alerts computed by the engine), not only on the hand-made scene of test_budgets.py."""

import pytest
from django.core.cache import cache
from django.core.management import call_command

from countries.models import Market, Membership
from monitoring.alerts.defaults import install_default_rules
from monitoring.alerts.models import Alert, AlertRule, RegionalAlert, ScoreSeries, SeriesState
from monitoring.models import ImportBatch, Observation
from tests.factories import PASSWORD, user_with_role

MAX_QUERIES = 20
MAX_PAGE_BYTES = 1_000_000
PAGES = [
    "/",
    *[f"/country/{iso2}/" for iso2 in ("KZ", "KG", "TJ", "TM", "UZ")],
    "/country/KG/?currency=usd",
    "/indicator/CPI_FOOD/",
    "/indicator/STUNTING/",
    "/indicator/PRICE_WHEAT_FLOUR/",
    "/alerts/",
    "/alerts/?country=KZ&status=open",
    "/alerts/export.csv",
    "/entry/completeness/",
    "/alerts/methodology/",
    "/reports/",
]


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """Load the shipped public data and compute alerts once for this module, then remove them."""
    with django_db_blocker.unblock():
        try:
            install_default_rules(AlertRule)
            call_command("load_demo_data", verbosity=0)
            call_command("compute_alerts", "--no-notify", verbosity=0)
            yield
        finally:
            # Everything the two commands wrote, even when one of them failed, so the next module on
            # this worker starts empty: the values before their history (deleting a value writes a "-"
            # history row), and the batches, markets, scores, series states and regional alerts too.
            RegionalAlert.objects.all().delete()
            Alert.objects.all().delete()
            ScoreSeries.objects.all().delete()
            SeriesState.objects.all().delete()
            Observation.objects.all().delete()
            Observation.history.all().delete()
            ImportBatch.objects.all().delete()
            Market.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_page_keeps_its_budgets_on_the_demo_data(client, demo_data, django_assert_max_num_queries, url):
    # given the real demo data, alerts computed, and an analyst (who sees every action)
    assert Observation.objects.approved().values("country").distinct().count() == 5
    assert Alert.objects.exists()
    cache.clear()
    user = user_with_role(Membership.Role.ANALYST)
    assert client.login(username=user.username, password=PASSWORD)

    # when the page is built from an empty cache
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url)

    # then it answers within 20 queries and under 1 MB of HTML and inline data
    assert response.status_code == 200
    assert len(response.content) < MAX_PAGE_BYTES
