"""WFP market prices, two layouts detected by their columns:

- HDX (wfp_food_prices_<iso3>.csv): date, admin1, admin2, market, latitude, longitude, category, commodity,
  unit, priceflag, pricetype, currency, price, usdprice (a second row of HXL tags "#date..." is ignored);
- the old VAM export (adm0...mp_price), as in monthly/wfp_vam_january_only_kgz_tjk_2004_2021.csv, whose
  header is mislabelled: CityName holds the market id, CityID the market name, FoodName the commodity id
  and FoodID the commodity name (data/SOURCES.md §7.3).

Markets are created from the file (code = slug of the name, region by admin-1 name or market town,
coordinates when given). "National Average" becomes a national value. Only retail prices in the state's
own currency are kept, and only where the unit is the catalogue's (a bread price per 150 g is not a price
per kg); everything else is skipped and counted. Commodities map to the catalogue through
Indicator.sdg_code ("Wheat flour (first grade) - Retail") or Indicator.commodity.
"""

from pathlib import Path

import pandas as pd
from django.utils.text import slugify
from django.utils.translation import gettext as _

from countries.models import Country, Region
from monitoring.imports.reading import FileRefused, ParsedFile, canonical_frame, read_table, row_error
from monitoring.models import Indicator

HDX_COLUMNS = {"date", "market", "commodity", "unit", "pricetype", "currency", "price"}
VAM_COLUMNS = {
    "CountryId",
    "CityID",
    "FoodID",
    "CurrencyCode",
    "CategoryName",
    "UnitName",
    "mp_month",
    "mp_year",
    "mp_price",
}
NATIONAL_MARKETS = {"national average"}
# WFP's units beside the catalogue's price units.
UNITS = {"LCU/kg": {"KG"}, "LCU/L": {"L"}, "LCU/10 eggs": {"10 PCS"}}
# Admin-1 names as WFP writes them (transliterated Russian forms) -> ISO 3166-2.
ADMIN1_ALIASES = {
    "akmolinskaya": "KZ-11",
    "kustanayskaya": "KZ-39",
    "almaty city area": "KZ-75",
    "mangistauskaya": "KZ-47",
}
# Market towns whose admin-1 unit the file does not give (the old VAM export leaves ProvinceName empty for
# Kyrgyzstan and Tajikistan). Capitals and cities of national significance are their own units.
MARKET_TOWNS = {
    ("KZ", "Almaty"): "KZ-75",
    ("KZ", "Nur-Sultan"): "KZ-71",
    ("KZ", "Astana"): "KZ-71",
    ("KZ", "Aktau"): "KZ-47",
    ("KZ", "Kostanay"): "KZ-39",
    ("KG", "Bishkek"): "KG-GB",
    ("KG", "Osh"): "KG-GO",
    ("KG", "Naryn"): "KG-N",
    ("KG", "Talas"): "KG-T",
    ("KG", "Batken"): "KG-B",
    ("KG", "Jalal-Abad"): "KG-J",
    ("KG", "Karakol"): "KG-Y",
    ("KG", "Balykchy"): "KG-Y",
    ("KG", "Tokmok"): "KG-C",
    ("KG", "Kara-Balta"): "KG-C",
    ("KG", "Kara-Suu"): "KG-O",
    ("KG", "Nookat"): "KG-O",
    ("KG", "Uzgen"): "KG-O",
    ("KG", "Isfana"): "KG-B",
    ("KG", "Kerben"): "KG-J",
    ("KG", "Toktogul"): "KG-J",
    ("KG", "Bazar-Korgon"): "KG-J",
    ("KG", "Chaek"): "KG-N",
    ("KG", "At-Bashi"): "KG-N",
    ("TJ", "Dushanbe"): "TJ-DU",
    ("TJ", "Khujand"): "TJ-SU",
    ("TJ", "Isfara"): "TJ-SU",
    ("TJ", "Istaravshan"): "TJ-SU",
    ("TJ", "Bokhtar"): "TJ-KT",
    ("TJ", "Kulob"): "TJ-KT",
    ("TJ", "Khorog"): "TJ-GB",
    ("TJ", "Murghob"): "TJ-GB",
    ("TJ", "Gharm"): "TJ-RA",
}


def parse(path: Path) -> ParsedFile:
    table = read_table(path)
    columns = set(table.columns)
    if columns >= HDX_COLUMNS:
        return _parse(_hdx_columns(table), layout="wfp-hdx")
    if columns >= VAM_COLUMNS:
        return _parse(_vam_columns(table), layout="wfp-vam")
    missing = sorted(HDX_COLUMNS - columns)
    raise FileRefused(
        [
            row_error(
                row=1,
                column=column,
                value="",
                reason=_("Not a WFP price layout: the HDX column “%(column)s” is missing.") % {"column": column},
            )
            for column in missing
        ]
    )


def _hdx_columns(table: pd.DataFrame) -> pd.DataFrame:
    table = table.loc[~table["date"].str.startswith("#")]  # HDX's HXL tag row
    return pd.DataFrame(
        {
            "row": table["row"],
            "country": table["countryiso3"] if "countryiso3" in table.columns else "",
            "admin1": table["admin1"] if "admin1" in table.columns else "",
            "market": table["market"].str.strip(),
            "latitude": table["latitude"] if "latitude" in table.columns else "",
            "longitude": table["longitude"] if "longitude" in table.columns else "",
            "commodity": table["commodity"].str.strip(),
            "unit": table["unit"].str.strip(),
            "pricetype": table["pricetype"].str.strip(),
            "priceflag": table["priceflag"].str.strip() if "priceflag" in table.columns else "",
            "currency": table["currency"].str.strip(),
            "period": table["date"].str.strip().str[:7],
            "price": table["price"],
            "labels": "hdx",
        }
    )


def _vam_columns(table: pd.DataFrame) -> pd.DataFrame:
    # The commodity name carries the price type ("Bread - Retail"); CategoryName is Retail or Wholesale.
    commodity = table["FoodID"].str.replace(r"\s*-\s*(Retail|Wholesale)$", "", regex=True).str.strip()
    month = pd.to_numeric(table["mp_month"], errors="coerce").fillna(0).astype(int).astype(str).str.zfill(2)
    gaul = pd.to_numeric(table["CountryId"], errors="coerce")
    gaul_to_iso3 = {float(code): iso3 for iso3, code in Country.objects.values_list("iso3", "gaul_code") if code}
    return pd.DataFrame(
        {
            "row": table["row"],
            "country": gaul.map(gaul_to_iso3).fillna(""),
            "admin1": table["ProvinceName"] if "ProvinceName" in table.columns else "",
            "market": table["CityID"].str.strip(),
            "latitude": "",
            "longitude": "",
            "commodity": commodity,
            "unit": table["UnitName"].str.strip(),
            "pricetype": table["CategoryName"].str.strip(),
            "priceflag": "",
            "currency": table["CurrencyCode"].str.strip(),
            "period": table["mp_year"].str.strip() + "-" + month,
            "price": table["mp_price"],
            "labels": "vam",
        }
    )


def _parse(table: pd.DataFrame, *, layout: str) -> ParsedFile:
    """`table` has our intermediate columns (see _hdx_columns); `row` keeps the file's row numbers."""
    vam = layout == "wfp-vam"
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout=layout,
        column_labels={
            "country": "CountryId" if vam else "currency",
            "indicator": "FoodID" if vam else "commodity",
            "period": "mp_year" if vam else "date",
            "value": "mp_price" if vam else "price",
            "market": "CityID" if vam else "market",
        },
    )
    countries = list(Country.objects.all())
    by_iso3 = {country.iso3: country for country in countries}
    by_currency = {country.currency: country for country in countries}
    # The country: the file's country column, else the currency (each of the five has its own).
    country = table["country"].map(lambda code: by_iso3[code].iso2 if code in by_iso3 else "")
    from_currency = table["currency"].map(lambda code: by_currency[code].iso2 if code in by_currency else "")
    country = country.where(country != "", from_currency)
    parsed.skip(_("not one of the five states, or not in a local currency"), (country == "").sum())
    keep = country != ""
    local = from_currency == country
    parsed.skip(_("price not in the state's own currency"), (keep & ~local).sum())
    keep &= local
    retail = table["pricetype"].str.lower() == "retail"
    parsed.skip(_("not a retail price"), (keep & ~retail).sum())
    keep &= retail
    forecast = table["priceflag"].str.lower().str.contains("forecast")
    parsed.skip(_("forecast, not an observed price"), (keep & forecast).sum())
    keep &= ~forecast

    indicators = list(Indicator.objects.prices())
    by_code = {item.sdg_code.lower(): item for item in indicators if item.sdg_code}
    by_commodity = {item.commodity.lower(): item for item in indicators if item.commodity}
    series = (table["commodity"] + " - " + table["pricetype"]).str.lower()
    indicator = series.map({code: item.code for code, item in by_code.items()})
    indicator = indicator.fillna(
        table["commodity"].str.lower().map({name: item.code for name, item in by_commodity.items()})
    ).fillna("")
    parsed.skip(_("commodity not in the indicator catalogue"), (keep & (indicator == "")).sum())
    keep &= indicator != ""
    units = {item.code: UNITS.get(item.unit, set()) for item in indicators}
    unit_matches = pd.Series(
        [
            table_unit.upper() in units.get(code, set())
            for code, table_unit in zip(indicator, table["unit"], strict=True)
        ],
        index=table.index,
    )
    parsed.skip(_("unit differs from the catalogue's (e.g. bread per 150 g, not per kg)"), (keep & ~unit_matches).sum())
    keep &= unit_matches

    table, country, indicator = table.loc[keep], country[keep], indicator[keep]
    national = table["market"].str.lower().isin(NATIONAL_MARKETS)
    market_code = table["market"].map(lambda name: slugify(name)[:60]).where(~national, "")
    parsed.markets = _markets(table.loc[~national], country[~national], market_code[~national])
    parsed.rows = canonical_frame(
        row=table["row"],
        country=country,
        indicator=indicator,
        period=table["period"],
        value=table["price"],
        market=market_code,
        source=pd.Series(_("WFP VAM market monitoring") if vam else _("WFP market prices (HDX)"), index=table.index),
    )
    return parsed


def _markets(table: pd.DataFrame, country: pd.Series, code: pd.Series) -> pd.DataFrame:
    regions_by_name = {}
    for region in Region.objects.select_related("country"):
        for name in (region.name_en, region.name_en.removesuffix(" Region"), region.name_en.removesuffix(" (city)")):
            regions_by_name[(region.country.iso2, name.lower())] = region.code
    markets = pd.DataFrame(
        {
            "country": country,
            "code": code,
            "name": table["market"],
            "admin1": table["admin1"].str.strip().str.lower(),
            "latitude": pd.to_numeric(table["latitude"], errors="coerce"),
            "longitude": pd.to_numeric(table["longitude"], errors="coerce"),
        }
    ).drop_duplicates(["country", "code"])
    region = [
        MARKET_TOWNS.get((iso2, name)) or ADMIN1_ALIASES.get(admin1) or regions_by_name.get((iso2, admin1)) or ""
        for iso2, name, admin1 in zip(markets["country"], markets["name"], markets["admin1"], strict=True)
    ]
    markets["region"] = region
    return markets[["country", "code", "name", "region", "latitude", "longitude"]]
