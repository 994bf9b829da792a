"""The database itself refuses an observation that names a missing indicator, country, region or market
(migration 0008: one set-based check per statement instead of a foreign-key trigger per row), whichever
door wrote it; on PostgreSQL it also refuses deleting a place or indicator that observations use."""

import pytest
from django.db import IntegrityError, connection, transaction

from countries.models import Market
from monitoring.models import Observation
from tests.factories import MarketFactory, ObservationFactory

MISSING_ID = 987_654


def _insert(**overrides) -> None:
    """A raw INSERT, as a loader that bypasses Django would write it."""
    row = {
        "indicator_id": overrides.pop("indicator_id"),
        "country_id": overrides.pop("country_id"),
        "region_id": None,
        "market_id": None,
        "place_key": "",
        "period": "2020",
        "period_start": "2020-01-01",
        "value": 1.0,
        "flag": "",
        "status": "draft",
        "source": "",
        "comment": "",
        "rejection_reason": "",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        **overrides,
    }
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO monitoring_observation ({columns}) VALUES ({placeholders})", list(row.values()))


@pytest.mark.parametrize(
    ("column", "label"),
    [("indicator_id", "indicator"), ("country_id", "country"), ("region_id", "region"), ("market_id", "market")],
)
def test_an_observation_naming_a_missing_reference_is_refused(reference, column, label):
    # given: a row whose indicator, country, region or market id does not exist
    row = {"indicator_id": reference.indicators["POU"].pk, "country_id": reference.kg.pk, column: MISSING_ID}
    if column in ("region_id", "market_id"):
        row["place_key"] = f"{label}-{MISSING_ID}"

    # when / then: the database refuses it and nothing is written
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert(**row)
    assert not Observation.objects.filter(period="2020", indicator=reference.indicators["POU"]).exists()


def test_a_valid_raw_row_is_accepted(reference):
    # given / when: every reference exists
    market = MarketFactory(country=reference.kg, code="osh-bazaar")
    _insert(
        indicator_id=reference.indicators["POU"].pk,
        country_id=reference.kg.pk,
        market_id=market.pk,
        place_key="market:osh-bazaar",
    )

    # then
    assert Observation.objects.get(place_key="market:osh-bazaar").market == market


def test_changing_an_observation_to_a_missing_country_is_refused(reference):
    # given
    observation = ObservationFactory(country=reference.kg)

    # when / then: one statement changes many rows, the check sees them all
    with pytest.raises(IntegrityError), transaction.atomic():
        Observation.objects.filter(pk=observation.pk).update(country_id=MISSING_ID)
    observation.refresh_from_db()
    assert observation.country == reference.kg


@pytest.mark.skipif(connection.vendor != "postgresql", reason="deletion-side checks are PostgreSQL's (migration 0008)")
def test_deleting_a_market_that_observations_use_is_refused_by_the_database(reference):
    # given: a market with a value, and one without
    used = MarketFactory(country=reference.kg, code="used-market")
    unused = MarketFactory(country=reference.kg, code="unused-market")
    ObservationFactory(country=reference.kg, market=used, period="2021")

    # when / then: a raw DELETE (no Django PROTECT on this path) is refused for the used one only
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM countries_market WHERE id = %s", [used.pk])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM countries_market WHERE id = %s", [unused.pk])
    assert list(Market.objects.filter(code__in=["used-market", "unused-market"]).values_list("code", flat=True)) == [
        "used-market"
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="deletion-side checks are PostgreSQL's (migration 0008)")
def test_renumbering_a_region_that_observations_use_is_refused_but_renaming_it_is_not(reference):
    # given
    region = reference.regions["KG-C"]
    ObservationFactory(country=reference.kg, region=region, period="2022")

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE countries_region SET id = %s WHERE id = %s", [MISSING_ID, region.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE countries_region SET name_en = %s WHERE id = %s", ["Chüy Region", region.pk])
    region.refresh_from_db()
    assert region.name_en == "Chüy Region"
