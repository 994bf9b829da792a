"""Publishers' files as shipped in data/ (FAOSTAT, UN SDG, Open SDG, SDMX, World Bank, WFP), plus small
files in the layouts we support but do not ship (FAOSTAT normalized, WFP HDX), and load_demo_data."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from countries.models import Market
from monitoring.imports.service import import_observations_file
from monitoring.models import ImportBatch, Observation

pytestmark = pytest.mark.django_db
DATA = Path(settings.BASE_DIR) / "data"
UN = DATA / "un_sdg_goal2"
FIES = next(p.name for p in UN.glob("ddf--datapoints--ag_prd_fiesms--*.csv"))
HDX_SAMPLE = (
    "date,admin1,admin2,market,latitude,longitude,category,commodity,unit,priceflag,pricetype,currency,price,usdprice\n"
    "#date,#adm1+name,#adm2+name,#loc+market+name,#geo+lat,#geo+lon,#item+type,#item+name,#item+unit,"
    "#item+price+flag,#item+price+type,#currency,#value,#value+usd\n"
    "2023-01-15,Chui,Sokuluk,Sokuluk,42.85,74.3,cereals and tubers,Wheat flour (first grade),KG,actual,Retail,KGS,"
    "48.5,0.56\n"
    "2023-01-15,Chui,Sokuluk,Sokuluk,42.85,74.3,cereals and tubers,Wheat flour (first grade),KG,actual,Wholesale,KGS,"
    "40.0,0.46\n"
    "2023-01-15,Chui,Sokuluk,Sokuluk,42.85,74.3,cereals and tubers,Wheat flour (first grade),KG,actual,Retail,USD,"
    "0.56,0.56\n"
)


def imported(path: Path, file_format: str) -> ImportBatch:
    batch = import_observations_file(path=path, file_format=file_format, status="approved")
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors[:5]
    return batch


def value_of(code: str, iso2: str, period: str, place_key: str = "") -> Observation:
    return Observation.objects.get(indicator__code=code, country__iso2=iso2, period=period, place_key=place_key)


def test_faostat_wide_monthly_cpi_gives_food_and_general_cpi_and_skips_monthly_inflation(reference):
    # when
    batch = imported(DATA / "monthly" / "faostat_cp_consumer_price_indices_monthly_central_asia.csv", "faostat")
    # then: values as published (KZ food CPI, January 2000) for four states, monthly periods
    assert value_of("CPI_FOOD", "KZ", "2000-01").value == pytest.approx(28.703752)
    assert set(Observation.objects.values_list("indicator__code", flat=True)) == {"CPI_FOOD", "CPI_GENERAL"}
    assert set(Observation.objects.values_list("country__iso2", flat=True)) == {"KZ", "KG", "TJ", "UZ"}
    assert Observation.objects.filter(indicator__code="CPI_FOOD", country__iso2="TJ").count() >= 24 * 12
    # item 23014 (monthly y/y inflation) never lands in the annual FOOD_INFLATION
    assert not Observation.objects.filter(indicator__code="FOOD_INFLATION").exists()
    assert any("23014" in reason for reason in batch.skipped)


def test_faostat_ddf_extracts_map_to_wheat_production_kcal_and_annual_food_inflation(reference):
    # when
    imported(DATA / "faostat" / "faostat_qcl_wheat_production_central_asia.csv", "faostat")
    imported(DATA / "faostat" / "faostat_fbs_grand_total_food_supply_kcal_capita_day_central_asia.csv", "faostat")
    imported(DATA / "faostat" / "faostat_cp_food_price_inflation_central_asia.csv", "faostat")
    # then
    assert value_of("WHEAT_PROD", "KZ", "1992").value == 18284600
    assert value_of("DES_KCAL", "KZ", "2010").value == pytest.approx(3122.12)
    assert value_of("FOOD_INFLATION", "KZ", "2001").value == pytest.approx(10.59695)
    assert Observation.objects.filter(indicator__code="WHEAT_PROD", country__iso2="TM").exists()


def test_faostat_normalized_layout(tmp_path, reference):
    # given the normalized FAOSTAT layout (Latin-1, one row per area, item, element, year and month)
    path = tmp_path / "normalized.csv"
    path.write_bytes(
        (
            "Area Code,Area,Item Code,Item,Element Code,Element,Year,Months Code,Months,Unit,Value,Flag\n"
            "113,Kyrgyzstan,23013,Food Indices,6125,Value,2020,7003,March,,123.4,E\n"
            "113,Kyrgyzstan,15,Wheat,5510,Production,2020,7021,Annual value,t,600000,A\n"
            "9999,Côte d'Ivoire,23013,Food Indices,6125,Value,2020,7003,March,,99.0,E\n"
        ).encode("latin-1")
    )
    # when
    batch = imported(path, "faostat")
    # then
    cpi = value_of("CPI_FOOD", "KG", "2020-03")
    assert (cpi.value, cpi.flag) == (123.4, "E")
    assert value_of("WHEAT_PROD", "KG", "2020").value == 600000
    assert batch.skipped == {"area is not one of the five states": 1}


def test_un_sdg_pou_keeps_bounds_as_flags(reference):
    # when
    imported(
        UN / "ddf--datapoints--sn_itk_defc--by--age--geo_area--nature--observation_status--sex--units--year.csv", "sdg"
    )
    # then: FAO's "<2.5" is 2.5 with the flag "<", never a plain 2.5
    kazakhstan = value_of("POU", "KZ", "2015")
    assert (kazakhstan.value, kazakhstan.flag) == (2.5, "<")
    assert value_of("POU", "KZ", "2001").value == pytest.approx(6.3)
    assert value_of("POU", "KZ", "2001").flag == ""
    assert Observation.objects.filter(indicator__code="POU", country__iso2="TM").exists()


def test_un_sdg_fies_keeps_only_both_sexes_all_ages(reference):
    # when
    batch = imported(UN / FIES, "sdg")
    # then: 51 rows by sex -> 17 totals
    assert batch.rows_read == 17
    assert Observation.objects.filter(indicator__code="FIES_MOD_SEV").count() == 17
    assert sum(batch.skipped.values()) == 34


def test_sdmx_kyrgyz_food_cpi_national_and_by_oblast(reference):
    # when
    imported(DATA / "kyrgyzstan_nsc_sdg_goal2" / "sdmx_xml" / "2.c.1.1.xml", "sdg")
    # then: REF_AREA KG is national, KG05 is Batken (OCHA P-code prefix)
    assert value_of("CPI_FOOD_KG_DEC", "KG", "2007").value == pytest.approx(131.547158)
    assert Observation.objects.filter(indicator__code="CPI_FOOD_KG_DEC", place_key="KG-B").exists()
    assert Observation.objects.filter(indicator__code="CPI_FOOD_KG_DEC").values("place_key").distinct().count() == 10


def test_sdmx_totals_only_and_regions(reference):
    # when: PoU by urban/rural and by oblast
    batch = imported(DATA / "kyrgyzstan_nsc_sdg_goal2" / "sdmx_xml" / "2.1.1.xml", "sdg")
    # then: urban and rural rows are skipped; oblasts kept
    assert batch.skipped == {"breakdown by URBANISATION (only totals are kept)": 48}
    assert Observation.objects.filter(indicator__code="POU", region__code="KG-Y").exists()


def test_open_sdg_kazstat_stunting_national_and_oblasts(reference):
    # when
    imported(DATA / "kazstat_sdg_goal2" / "indicator_2-2-1.csv", "sdg")
    # then: national totals and oblasts (KZAKM -> Akmola, KZ-11)
    assert value_of("STUNTING", "KZ", "2010").value == pytest.approx(13.1)
    assert Observation.objects.filter(indicator__code="STUNTING", place_key="KZ-11").count() == 2


def test_world_bank_population_from_the_file_name(reference):
    # when
    imported(DATA / "worldbank_wdi" / "wdi_SP.POP.TOTL_population_central_asia.csv", "sdg")
    # then
    assert value_of("POPULATION", "KZ", "1960").value == 9429981
    assert Observation.objects.filter(indicator__code="POPULATION").values("country").distinct().count() == 5


def test_wfp_old_vam_layout_creates_markets_and_retail_local_currency_prices(reference):
    # when
    batch = imported(DATA / "monthly" / "wfp_vam_january_only_kgz_tjk_2004_2021.csv", "wfp")
    # then: markets with regions, January prices, the mislabelled header read right
    bishkek = Market.objects.get(country=reference.kg, code="bishkek")
    assert (bishkek.name, bishkek.region.code) == ("Bishkek", "KG-GB")
    flour = value_of("PRICE_WHEAT_FLOUR", "KG", "2005-01", "market:bishkek")
    assert flour.value == pytest.approx(16.037)  # SOURCES.md rounds it to 16.04
    # "National Average" is a national value; bread per 150 g is not a price per kg
    assert Observation.objects.filter(indicator__code="PRICE_WHEAT_FLOUR", country__iso2="KG", place_key="").exists()
    assert any("150 g" in reason for reason in batch.skipped)
    assert Market.objects.filter(country=reference.tj).count() >= 9


def test_wfp_hdx_layout(tmp_path, reference):
    # given a small file in HDX's layout (with its HXL tag row; values made up for the test)
    path = tmp_path / "wfp_food_prices_kgz.csv"
    path.write_text(HDX_SAMPLE, encoding="utf-8")
    # when
    batch = imported(path, "wfp")
    # then
    market = Market.objects.get(country=reference.kg, code="sokuluk")
    assert (market.region.code, market.latitude, market.longitude) == ("KG-C", 42.85, 74.3)
    assert value_of("PRICE_WHEAT_FLOUR", "KG", "2023-01", "market:sokuluk").value == 48.5
    assert batch.rows_read == 1


def test_a_wrong_layout_for_the_format_is_refused(reference):
    # when a WFP file is imported as FAOSTAT
    batch = import_observations_file(
        path=DATA / "monthly" / "wfp_vam_january_only_kgz_tjk_2004_2021.csv", file_format="faostat"
    )
    # then
    assert batch.status == ImportBatch.Status.REFUSED
    assert "Not a FAOSTAT layout" in batch.errors[0]["reason"]
    assert Observation.objects.count() == 0


def test_load_demo_data_loads_all_five_states_and_is_quick_the_second_time(reference):
    # when
    call_command("load_demo_data")
    counts = Observation.objects.count()
    batches = ImportBatch.objects.count()
    call_command("load_demo_data")
    # then: every state has real approved values; the second run imports nothing
    for iso2 in ("KZ", "KG", "TJ", "TM", "UZ"):
        assert Observation.objects.filter(country__iso2=iso2, status="approved").count() > 100, iso2
    assert Observation.objects.exclude(status="approved").count() == 0
    assert Observation.objects.count() == counts
    assert ImportBatch.objects.count() == batches
    assert value_of("POU", "TM", "2001").value > 0
