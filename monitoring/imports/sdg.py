"""Statistical series keyed by a series code, four layouts detected by content:

- UN Global SDG Indicators Database, DDF files (open-numbers): geo_area (UN M49), year, dimension columns
  (age, sex, location, freq, type_of_product...), attribute columns (nature, observation_status, units)
  and one value column named after the series (sn_itk_defc -> SN_ITK_DEFC -> POU);
- Open SDG CSV (kazstat, Kazakhstan's national platform): Year, [SERIES], [UNIT_MEASURE], breakdown columns
  (AGE, SEX, URBANISATION), [REF_AREA] (kazstat oblast codes), [GeoCode], Value;
- SDMX 2.1 StructureSpecificData XML (Kyrgyz NSC): <Series SERIES=... REF_AREA=... SEX=...> with <Obs
  TIME_PERIOD=... OBS_VALUE=...>; REF_AREA KG is national, KG02...KG21 are OCHA P-code prefixes of oblasts;
- World Bank WDI: datahub.io's layout (Country Name, Country Code, Year, Value), the WDI code taken from
  the file name (wdi_SP.POP.TOTL_...csv) or the value column (Inflation -> FP.CPI.TOTL.ZG), and the
  official wide download (Country Name, Country Code, Indicator Name, Indicator Code, 1960, 1961, ...).

Series codes map to the catalogue through Indicator.sdg_code. Only totals are kept: a row broken down by
sex, age, location or urbanisation is skipped (and counted) unless it is the total; see TOTAL_VALUES.
"""

import re
from pathlib import Path

import pandas as pd
from django.utils.translation import gettext as _

from countries.models import Country, Region
from monitoring.imports.reading import FileRefused, ParsedFile, canonical_frame, read_table, row_error
from monitoring.models import Indicator

# The codes publishers use for "no breakdown": UN DDF (notspec, bothsex, allage, allarea), SDMX (_T, _Z).
TOTAL_VALUES = {"", "notspec", "bothsex", "allage", "allarea", "_T", "_Z", "_t"}
# The age that defines a series (children under five for SDG 2.2, women 15-49 for anaemia) counts as its
# total when the publisher gives no "_T" for age.
DEFINING_AGES = {"Y0T4", "Y15T49", "lt5y", "15_49"}
UN_ATTRIBUTE_COLUMNS = {"nature", "observation_status", "units", "reporting_type", "unit_mult", "source"}

# Kazstat's national series that measure a catalogue indicator (names from translations_en_SERIES.yml
# and the Open SDG indicator they are filed under).
OPEN_SDG_SERIES = {
    "_L_KZ_DD_MSD": "STUNTING",  # indicator 2.2.1: stunting of children under five
    "_L_KZ_020102_1B": "FIES_MOD_SEV",  # "Food insecurity (moderate and extreme)"
    "_L_KZ_020102_1A": "FIES_SEV",  # "Extreme food insecurity"
}
# Kazstat REF_AREA codes of oblasts and cities of national significance -> ISO 3166-2 (translations_en_REF_AREA.yml).
# Town and village codes (city Aksay, village Akay...) are not admin-1 units and are skipped.
KAZSTAT_REGIONS = {
    "KZAKM": "KZ-11",
    "KZAKT": "KZ-15",
    "KZALA": "KZ-75",
    "KZALM": "KZ-19",
    "KZATY": "KZ-23",
    "KZKAR": "KZ-35",
    "KZKUS": "KZ-39",
    "KZKZY": "KZ-43",
    "KZMAN": "KZ-47",
    "KZNS": "KZ-71",
    "KZONT": "KZ-YUZ",  # Ontustik (South) Kazakhstan, until 2018
    "KZYUZ": "KZ-61",  # Turkistan, from 2018
    "KZPAV": "KZ-55",
    "KZSEV": "KZ-59",
    "KZVOS": "KZ-63",
    "KZZAP": "KZ-27",
    "KZZHA": "KZ-31",
    "KZSHY": "KZ-79",
    "KZABY": "KZ-10",
    "KZZHS": "KZ-33",
    "KZULU": "KZ-62",
}
# The WDI value column of datahub.io's packages, when the file name does not carry the code.
WDI_VALUE_COLUMNS = {"Inflation": "FP.CPI.TOTL.ZG", "CPI": "FP.CPI.TOTL"}
_WDI_FILE_NAME = re.compile(r"wdi_([A-Z][A-Z0-9]*(?:\.[A-Z0-9]+)+)_", re.IGNORECASE)
_SDMX_NAMESPACE_FREE = re.compile(r"^\{.*\}")


def parse(path: Path) -> ParsedFile:
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(512).lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return _parse_sdmx(path)
    table = read_table(path)
    columns = set(table.columns)
    if {"geo_area", "year"} <= columns:
        return _parse_un_ddf(table)
    if {"Country Code", "Year"} <= columns:
        return _parse_wdi_long(table, path)
    if {"Year", "Value"} <= columns:
        return _parse_open_sdg(table, path)
    if {"Country Code", "Indicator Code"} <= columns:
        return _parse_wdi_wide(table)
    raise FileRefused(
        [
            row_error(
                row=1,
                column="",
                value=", ".join(column for column in table.columns if column != "row")[:200],
                reason=_(
                    "Not an SDG layout: expected a UN SDG DDF file (geo_area, year, <series>), an Open SDG CSV "
                    "(Year, SERIES, Value), SDMX-XML, or a World Bank WDI file (Country Code, Year, Value)."
                ),
            )
        ]
    )


def _only_five_states(parsed: ParsedFile, table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Publishers' files cover the world: rows of other countries are skipped, not refused."""
    codes = set()
    for iso2, iso3, m49 in Country.objects.values_list("iso2", "iso3", "m49"):
        codes |= {iso2, iso3, str(m49), f"{m49:03d}"}
    ours = table[column].str.strip().str.upper().isin(codes)
    parsed.skip(_("area is not one of the five states"), (~ours).sum())
    return table.loc[ours]


def _series_to_indicator() -> dict[str, str]:
    mapping = {indicator.sdg_code.upper(): indicator.code for indicator in Indicator.objects.exclude(sdg_code="")}
    return {**mapping, **OPEN_SDG_SERIES}


def _keep_totals(parsed: ParsedFile, table: pd.DataFrame, dimensions: list[str]) -> pd.DataFrame:
    """Keep the rows that are totals on every breakdown dimension; count the others as skipped."""
    keep = pd.Series(True, index=table.index)
    for dimension in dimensions:
        values = table[dimension].str.strip()
        is_total = values.isin(TOTAL_VALUES)
        if dimension.lower() == "age" and not is_total.any():
            is_total = values.isin(DEFINING_AGES)
        if not is_total.any() and values.nunique() == 1:
            is_total = pd.Series(True, index=table.index)  # one value only: the series is defined by it
        parsed.skip(
            _("breakdown by %(dimension)s (only totals are kept)") % {"dimension": dimension}, (keep & ~is_total).sum()
        )
        keep &= is_total
    return table.loc[keep]


def _parse_un_ddf(table: pd.DataFrame) -> ParsedFile:
    value_columns = [column for column in table.columns if column not in {"geo_area", "year", "row"}]
    series_column = value_columns[-1]
    dimensions = [column for column in value_columns[:-1] if column not in UN_ATTRIBUTE_COLUMNS]
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="un-sdg-ddf",
        column_labels={"country": "geo_area", "period": "year", "indicator": series_column, "value": series_column},
    )
    code = series_column.upper()
    indicator = _series_to_indicator().get(code)
    if indicator is None:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column=series_column,
                    value=code,
                    reason=_("This SDG series is not in the indicator catalogue."),
                )
            ]
        )
    table = _keep_totals(parsed, table, dimensions)
    table = _only_five_states(parsed, table, "geo_area")
    empty = table[series_column].str.strip() == ""
    parsed.skip(_("empty cell (no value published)"), empty.sum())
    table = table.loc[~empty]
    parsed.rows = canonical_frame(
        row=table["row"],
        country=table["geo_area"],
        indicator=pd.Series(indicator, index=table.index),
        period=table["year"],
        value=table[series_column],
        source=pd.Series(f"UN SDG database (UNSD), series {code}", index=table.index),
    )
    return parsed


def _parse_open_sdg(table: pd.DataFrame, path: Path) -> ParsedFile:
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="open-sdg",
        column_labels={"period": "Year", "value": "Value", "indicator": "SERIES", "region": "REF_AREA"},
    )
    mapping = _series_to_indicator()
    if "SERIES" not in table.columns:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column="SERIES",
                    value="",
                    reason=_("The file has no SERIES column, so the indicator cannot be told."),
                )
            ]
        )
    series = table["SERIES"].str.strip()
    indicator = series.str.upper().map(mapping).fillna("")
    parsed.skip(_("series not in the indicator catalogue"), (indicator == "").sum())
    table, series, indicator = table.loc[indicator != ""], series[indicator != ""], indicator[indicator != ""]
    # The country is in the national series code (_L_KZ_...) or the area codes (KZ...).
    country = series.str.extract(r"^_L_([A-Z]{2})_", expand=False)
    if "REF_AREA" in table.columns:
        country = country.fillna(table["REF_AREA"].str.extract(r"^([A-Z]{2})", expand=False))
    known = country.dropna().unique()
    if len(known) != 1:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column="SERIES",
                    value="",
                    reason=_("The country of this Open SDG file cannot be told from its series or area codes."),
                )
            ]
        )
    dimensions = [column for column in ("AGE", "SEX", "URBANISATION") if column in table.columns]
    table = _keep_totals(parsed, table, dimensions)
    region = pd.Series("", index=table.index)
    if "REF_AREA" in table.columns:
        area = table["REF_AREA"].str.strip()
        region = area.map(KAZSTAT_REGIONS).fillna("")
        not_admin1 = (area != "") & (region == "")
        parsed.skip(_("area is a town or village, not an admin-1 region"), not_admin1.sum())
        table, region = table.loc[~not_admin1], region[~not_admin1]
    empty = table["Value"].str.strip() == ""
    parsed.skip(_("empty cell (no value published)"), empty.sum())
    table, region = table.loc[~empty], region[~empty]
    parsed.rows = canonical_frame(
        row=table["row"],
        country=pd.Series(known[0], index=table.index),
        indicator=indicator[table.index],
        period=table["Year"],
        value=table["Value"],
        region=region,
        source=("National SDG platform (Open SDG), series " + table["SERIES"].str.strip()).str.slice(0, 200),
    )
    return parsed


def _parse_sdmx(path: Path) -> ParsedFile:
    from lxml import etree

    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="sdmx-xml",
        column_labels={
            "period": "TIME_PERIOD",
            "value": "OBS_VALUE",
            "indicator": "SERIES",
            "region": "REF_AREA",
            "country": "REF_AREA",
        },
    )
    try:
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as error:
        raise FileRefused(
            [
                row_error(
                    row=getattr(error, "lineno", 1) or 1,
                    column="",
                    value="",
                    reason=_("The XML is not well formed: %(error)s") % {"error": error.msg},
                )
            ]
        )
    records = []
    sender = next(
        (
            element.get("id")
            for element in tree.iter()
            if isinstance(element.tag, str) and element.tag.endswith("}Sender")
        ),
        None,
    ) or _("unknown sender")
    for series in tree.iter():
        if not isinstance(series.tag, str) or _SDMX_NAMESPACE_FREE.sub("", series.tag) != "Series":
            continue
        for obs in series:
            if not isinstance(obs.tag, str) or _SDMX_NAMESPACE_FREE.sub("", obs.tag) != "Obs":
                continue
            records.append({**dict(series.attrib), **dict(obs.attrib), "row": obs.sourceline})
    if not records:
        raise FileRefused(
            [row_error(row=1, column="", value="", reason=_("The SDMX file has no <Series> with <Obs> observations."))]
        )
    table = pd.DataFrame(records).fillna("")
    for required in ("SERIES", "REF_AREA", "TIME_PERIOD", "OBS_VALUE"):
        if required not in table.columns:
            raise FileRefused(
                [
                    row_error(
                        row=1,
                        column=required,
                        value="",
                        reason=_("The SDMX series lack the attribute “%(name)s”.") % {"name": required},
                    )
                ]
            )
    indicator = table["SERIES"].str.upper().map(_series_to_indicator()).fillna("")
    parsed.skip(_("series not in the indicator catalogue"), (indicator == "").sum())
    table = table.loc[indicator != ""].assign(indicator=indicator[indicator != ""])
    dimensions = [
        column
        for column in (
            "SEX",
            "AGE",
            "URBANISATION",
            "INCOME_WEALTH_QUANTILE",
            "EDUCATION_LEV",
            "OCCUPATION",
            "CUST_BREAKDOWN",
            "COMPOSITE_BREAKDOWN",
            "DISABILITY_STATUS",
            "ACTIVITY",
            "PRODUCT",
        )
        if column in table.columns
    ]
    table = _keep_totals(parsed, table, dimensions)
    # REF_AREA: ISO alpha-2 or M49 for the nation; otherwise the first four characters are an OCHA P-code
    # prefix (KG02 = Issyk-Kul, KG02000000000 in the reference regions).
    area = table["REF_AREA"].str.strip()
    national = area.str.fullmatch(r"[A-Z]{2}|\d{3}")
    regions = {
        region.pcode[:4]: (region.country.iso2, region.code)
        for region in Region.objects.select_related("country").exclude(pcode="")
        if len(region.pcode) > 4
    }
    region_country = area.str[:4].map({prefix: value[0] for prefix, value in regions.items()})
    region_code = area.str[:4].map({prefix: value[1] for prefix, value in regions.items()})
    unknown_area = ~national & region_code.isna()
    parsed.skip(_("area is not a state or an admin-1 region we know"), unknown_area.sum())
    keep = ~unknown_area
    table, area, national, region_country, region_code = (
        item[keep] for item in (table, area, national, region_country, region_code)
    )
    empty = table["OBS_VALUE"].str.strip().isin(["", "NaN"])
    parsed.skip(_("empty cell (no value published)"), empty.sum())
    keep = ~empty
    table, area, national, region_country, region_code = (
        item[keep] for item in (table, area, national, region_country, region_code)
    )
    country = area.where(national, region_country)
    parsed.rows = canonical_frame(
        row=table["row"],
        country=country,
        indicator=table["indicator"],
        period=table["TIME_PERIOD"],
        value=table["OBS_VALUE"],
        region=region_code.where(~national, "").fillna(""),
        source=(f"SDMX ({sender}), series " + table["SERIES"]).str.slice(0, 200),
    )
    return parsed


def _wdi_indicator(code: str) -> str:
    indicator = _series_to_indicator().get(code.upper())
    if indicator is None:
        raise FileRefused(
            [
                row_error(
                    row=1, column="", value=code, reason=_("This World Bank series is not in the indicator catalogue.")
                )
            ]
        )
    return indicator


def _parse_wdi_long(table: pd.DataFrame, path: Path) -> ParsedFile:
    value_column = next((column for column in ("Value", *WDI_VALUE_COLUMNS) if column in table.columns), None)
    if value_column is None:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column="Value",
                    value="",
                    reason=_("The required column “%(column)s” is missing.") % {"column": "Value"},
                )
            ]
        )
    match = _WDI_FILE_NAME.search(path.name)
    code = match.group(1) if match else WDI_VALUE_COLUMNS.get(value_column)
    if code is None:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column=value_column,
                    value=path.name,
                    reason=_("Name the file wdi_<WDI code>_... so the World Bank series can be told."),
                )
            ]
        )
    indicator = _wdi_indicator(code)
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="worldbank-wdi",
        column_labels={"country": "Country Code", "period": "Year", "value": value_column, "indicator": value_column},
    )
    table = _only_five_states(parsed, table, "Country Code")
    empty = table[value_column].str.strip() == ""
    parsed.skip(_("empty cell (no value published)"), empty.sum())
    table = table.loc[~empty]
    parsed.rows = canonical_frame(
        row=table["row"],
        country=table["Country Code"],
        indicator=pd.Series(indicator, index=table.index),
        period=table["Year"],
        value=table[value_column],
        source=pd.Series(f"World Bank WDI, {code.upper()}", index=table.index),
    )
    return parsed


def _parse_wdi_wide(table: pd.DataFrame) -> ParsedFile:
    years = [column for column in table.columns if re.fullmatch(r"\d{4}", column)]
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="worldbank-wdi-wide",
        column_labels={"country": "Country Code", "indicator": "Indicator Code"},
    )
    mapping = _series_to_indicator()
    table = _only_five_states(parsed, table, "Country Code")
    long = table.melt(
        id_vars=["row", "Country Code", "Indicator Code"], value_vars=years, var_name="year", value_name="value"
    )
    long["indicator"] = long["Indicator Code"].str.upper().map(mapping).fillna("")
    parsed.skip(_("series not in the indicator catalogue"), (long["indicator"] == "").sum())
    long = long.loc[long["indicator"] != ""]
    empty = long["value"].str.strip() == ""
    parsed.skip(_("empty cell (no value published)"), empty.sum())
    long = long.loc[~empty]
    parsed.rows = canonical_frame(
        row=long["row"],
        country=long["Country Code"],
        indicator=long["indicator"],
        period=long["year"],
        value=long["value"],
        source=("World Bank WDI, " + long["Indicator Code"]).str.slice(0, 200),
        value_column=long["year"],
    )
    return parsed
