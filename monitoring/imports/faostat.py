"""FAOSTAT bulk files, three layouts detected by their columns:

- wide ("All_Data" / "NOFLAG"): Area Code, Item Code, Element Code, [Months Code], Unit, Y2000, Y2001, ...
  (and Y2000F flag columns in the flagged variant); monthly rows have Months Code 7001-7012;
- normalized: Area Code, Item Code, Element Code, Year, [Months Code], Value, [Flag];
- DDF extracts (Gapminder's open-numbers conversion): geo, year, <concept>, e.g. qcl_wheat_production.

Areas are FAOSTAT area codes (Country.faostat_code); items map to the catalogue through Indicator.sdg_code
(23013 -> CPI_FOOD, 23012 -> CPI_GENERAL), DDF concepts likewise (qcl_wheat_production -> WHEAT_PROD,
fbs_grand_total_food_supply_kcal_capita_day -> DES_KCAL). Rows of other areas or unmapped items are
skipped and counted by reason.
"""

import re
from pathlib import Path

import pandas as pd
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring.imports.reading import FileRefused, ParsedFile, canonical_frame, read_table, row_error
from monitoring.models import Indicator

# FAOSTAT "Months Code": 7001 = January ... 7012 = December; 7021 = the annual value.
MONTH_CODES = {str(7000 + month): f"{month:02d}" for month in range(1, 13)}
ANNUAL_MONTH_CODE = "7021"
# Codes that name the same FAOSTAT series as a catalogue sdg_code, in another layout:
# the DDF concept of item 23014 (annual food price inflation) and QCL item 15 (wheat), element 5510 (production).
ALIASES = {
    "cp_food_price_inflation_value": "23014",
    "15:5510": "qcl_wheat_production",
    "2901:664": "fbs_grand_total_food_supply_kcal_capita_day",
}
DDF_KEY_COLUMNS = {"geo", "year"}
_YEAR_COLUMN = re.compile(r"^Y(\d{4})$")


def parse(path: Path) -> ParsedFile:
    table = read_table(path)
    columns = set(table.columns)
    if columns >= DDF_KEY_COLUMNS and len(columns - DDF_KEY_COLUMNS - {"row"}) == 1:
        return _parse_ddf(table)
    if {"Area Code", "Item Code"} <= columns and any(_YEAR_COLUMN.match(column) for column in table.columns):
        return _parse_wide(table)
    if {"Area Code", "Item Code", "Year", "Value"} <= columns:
        return _parse_normalized(table)
    raise FileRefused(
        [
            row_error(
                row=1,
                column="",
                value=", ".join(column for column in table.columns if column != "row")[:200],
                reason=_(
                    "Not a FAOSTAT layout: expected the wide bulk layout (Area Code, Item Code, Y2000...), the "
                    "normalized one (Area Code, Item Code, Year, Value) or a DDF extract (geo, year, <concept>)."
                ),
            )
        ]
    )


def _catalogue() -> dict[str, Indicator]:
    return {indicator.sdg_code: indicator for indicator in Indicator.objects.exclude(sdg_code="")}


def _areas() -> dict[str, str]:
    return {str(code): iso2 for iso2, code in Country.objects.values_list("iso2", "faostat_code") if code}


def _indicator_for(series_codes: pd.Series) -> pd.Series:
    catalogue = _catalogue()
    resolved = series_codes.map(lambda code: ALIASES.get(code, code))
    # item:element first, then the item alone (CP items have a single element).
    by_item = resolved.str.split(":").str[0].map(lambda code: ALIASES.get(code, code))
    indicator = resolved.map({code: item.code for code, item in catalogue.items()})
    return indicator.fillna(by_item.map({code: item.code for code, item in catalogue.items()})).fillna("")


def _finish(parsed: ParsedFile, long: pd.DataFrame, *, layout_label: str) -> ParsedFile:
    """Drop other areas, unmapped series, empty cells and monthly rows of annual indicators; build rows."""
    areas = _areas()
    long["country"] = long["area"].map(areas).fillna("")
    parsed.skip(_("area is not one of the five states"), (long["country"] == "").sum())
    long = long.loc[long["country"] != ""]
    parsed.skip(_("series not in the indicator catalogue"), (long["indicator"] == "").sum())
    long = long.loc[long["indicator"] != ""]
    parsed.skip(_("empty cell (no value published)"), (long["value"].str.strip() == "").sum())
    long = long.loc[long["value"].str.strip() != ""]
    frequencies = dict(Indicator.objects.values_list("code", "frequency"))
    monthly_into_annual = (long["period"].str.len() == 7) & (long["indicator"].map(frequencies) == "annual")
    # Item 23014 (food price inflation) is published monthly as a year-on-year %, while the catalogue's
    # FOOD_INFLATION is annual (FAOSTAT's annual series); a monthly row never goes into an annual indicator.
    parsed.skip(_("monthly row of an annual indicator (e.g. FAOSTAT item 23014, y/y %)"), monthly_into_annual.sum())
    long = long.loc[~monthly_into_annual]
    parsed.rows = canonical_frame(
        row=long["row"],
        country=long["country"],
        indicator=long["indicator"],
        period=long["period"],
        value=long["value"],
        flag=long["flag"] if "flag" in long.columns else "",
        source=long["source"],
        value_column=long["value_column"],
    )
    parsed.layout = layout_label
    return parsed


def _parse_wide(table: pd.DataFrame) -> ParsedFile:
    year_columns = [column for column in table.columns if _YEAR_COLUMN.match(column)]
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="faostat-wide",
        column_labels={"country": "Area Code", "indicator": "Item Code", "period": "Months Code"},
    )
    months = table["Months Code"] if "Months Code" in table.columns else pd.Series(ANNUAL_MONTH_CODE, index=table.index)
    element = table["Element Code"] if "Element Code" in table.columns else pd.Series("", index=table.index)
    long_parts = []
    for column in year_columns:
        year = _YEAR_COLUMN.match(column).group(1)
        flag_column = f"{column}F"
        part = pd.DataFrame(
            {
                "row": table["row"],
                "area": table["Area Code"].str.strip(),
                "series": table["Item Code"].str.strip() + ":" + element.str.strip(),
                "month_code": months.str.strip(),
                "value": table[column],
                "flag": table[flag_column].str.strip().map({"E": "E"}).fillna("")
                if flag_column in table.columns
                else "",
                "item_name": table["Item"] if "Item" in table.columns else table["Item Code"],
                "value_column": column,
                "year": year,
            }
        )
        long_parts.append(part)
    long = pd.concat(long_parts, ignore_index=True)
    return _finish(parsed, _periods_and_series(parsed, long), layout_label="faostat-wide")


def _periods_and_series(parsed: ParsedFile, long: pd.DataFrame) -> pd.DataFrame:
    monthly = long["month_code"].isin(MONTH_CODES)
    annual = long["month_code"].isin([ANNUAL_MONTH_CODE, ""])
    parsed.skip(_("not a month or annual value (quarterly or other FAOSTAT period codes)"), (~monthly & ~annual).sum())
    long = long.loc[monthly | annual].copy()
    long["period"] = long["year"].where(
        ~long["month_code"].isin(MONTH_CODES), long["year"] + "-" + long["month_code"].map(MONTH_CODES)
    )
    long["indicator"] = _indicator_for(long["series"])
    long["source"] = (
        "FAOSTAT, item " + long["series"].str.split(":").str[0] + " " + long["item_name"].astype(str)
    ).str.slice(0, 200)
    return long


def _parse_normalized(table: pd.DataFrame) -> ParsedFile:
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="faostat-normalized",
        column_labels={"country": "Area Code", "indicator": "Item Code", "period": "Year", "value": "Value"},
    )
    element = table["Element Code"] if "Element Code" in table.columns else pd.Series("", index=table.index)
    long = pd.DataFrame(
        {
            "row": table["row"],
            "area": table["Area Code"].str.strip(),
            "series": table["Item Code"].str.strip() + ":" + element.str.strip(),
            "month_code": table["Months Code"].str.strip() if "Months Code" in table.columns else "",
            "value": table["Value"],
            "flag": table["Flag"].str.strip().map({"E": "E"}).fillna("") if "Flag" in table.columns else "",
            "item_name": table["Item"] if "Item" in table.columns else table["Item Code"],
            "value_column": "Value",
            "year": table["Year"].str.strip().str[:4],
        }
    )
    return _finish(parsed, _periods_and_series(parsed, long), layout_label="faostat-normalized")


def _parse_ddf(table: pd.DataFrame) -> ParsedFile:
    concept = next(column for column in table.columns if column not in DDF_KEY_COLUMNS | {"row"})
    parsed = ParsedFile(
        rows=pd.DataFrame(),
        layout="faostat-ddf",
        column_labels={"country": "geo", "period": "year", "indicator": concept, "value": concept},
    )
    indicator = _indicator_for(pd.Series([concept]))[0]
    if not indicator:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column=concept,
                    value=concept,
                    reason=_("This FAOSTAT series is not in the indicator catalogue."),
                )
            ]
        )
    long = pd.DataFrame(
        {
            "row": table["row"],
            "area": table["geo"].str.strip(),
            "indicator": indicator,
            "period": table["year"].str.strip(),
            "value": table[concept],
            "source": f"FAOSTAT ({concept})"[:200],
            "value_column": concept,
        }
    )
    return _finish(parsed, long, layout_label="faostat-ddf")
