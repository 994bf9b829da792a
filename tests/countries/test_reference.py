import pytest
from django.core.management import call_command

from countries.models import Country, Region
from monitoring.models import Indicator, Pillar


@pytest.mark.django_db
def test_reference_has_the_five_states_with_their_codes(reference):
    # given the reference data loaded once for the test database
    # then the five states carry their ISO, M49 and currency codes
    codes = {(c.iso2, c.iso3, c.m49, c.currency) for c in Country.objects.all()}
    assert codes == {
        ("KZ", "KAZ", 398, "KZT"),
        ("KG", "KGZ", 417, "KGS"),
        ("TJ", "TJK", 762, "TJS"),
        ("TM", "TKM", 795, "TMT"),
        ("UZ", "UZB", 860, "UZS"),
    }


@pytest.mark.django_db
def test_every_state_has_admin1_regions_with_iso_3166_2_codes(reference):
    for country in Country.objects.all():
        regions = Region.objects.filter(country=country)
        assert regions.count() >= 5, country.iso2
        assert all(region.code.startswith(f"{country.iso2}-") for region in regions)
        assert all(region.name_ru for region in regions)


@pytest.mark.django_db
def test_kazakhstan_2022_regions_are_valid_only_from_their_creation(reference):
    from datetime import date

    valid_2021 = set(
        Region.objects.filter(country__iso2="KZ").valid_on(date(2021, 12, 31)).values_list("code", flat=True)
    )
    valid_2023 = set(
        Region.objects.filter(country__iso2="KZ").valid_on(date(2023, 1, 1)).values_list("code", flat=True)
    )
    assert {"KZ-10", "KZ-33", "KZ-62"}.isdisjoint(valid_2021)
    assert {"KZ-10", "KZ-33", "KZ-62"} <= valid_2023
    # Abai was created from East Kazakhstan: the succession is recorded
    assert list(Region.objects.get(code="KZ-10").successor_of.values_list("code", flat=True)) == ["KZ-63"]


@pytest.mark.django_db
def test_loading_reference_again_changes_nothing(reference):
    # given the reference already loaded
    before = (
        list(Country.objects.values()),
        list(Region.objects.values()),
        list(Indicator.objects.values()),
    )
    # when it is loaded again
    call_command("load_reference")
    # then every row is as it was
    after = (list(Country.objects.values()), list(Region.objects.values()), list(Indicator.objects.values()))
    assert after == before


@pytest.mark.django_db
def test_catalogue_covers_the_required_indicators_in_the_four_pillars(reference):
    codes = set(Indicator.objects.values_list("code", flat=True))
    assert len(codes) >= 30
    required = {
        "POU", "FIES_MOD_SEV", "STUNTING", "WASTING", "ANAEMIA_WOMEN", "IFPA_FOOD",
        "WHEAT_PROD", "WHEAT_IMP", "WHEAT_EXP", "WHEAT_STOCKS", "CEREAL_PROD", "CEREAL_IMP", "CEREAL_EXP",
        "CEREAL_STOCKS", "PRICE_WHEAT_FLOUR", "PRICE_BREAD", "PRICE_RICE", "PRICE_POTATOES",
        "PRICE_SUNFLOWER_OIL", "PRICE_SUGAR", "PRICE_BEEF", "PRICE_MILK", "PRICE_EGGS", "CPI_FOOD", "CPI_GENERAL",
        "EXCHANGE_RATE_USD", "POPULATION", "DES_KCAL", "FOOD_EXP_SHARE", "CEREAL_IDR", "CEREAL_SSR", "CEREAL_STU",
    }  # fmt: skip
    assert required <= codes
    assert set(Indicator.objects.values_list("pillar", flat=True)) == set(Pillar.values)
    assert all(Indicator.objects.values_list("name_ru", flat=True))
