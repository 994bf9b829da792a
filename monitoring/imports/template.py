"""Our own template, CSV or XLSX: one row per value.

Columns: country (ISO alpha-2 or alpha-3), indicator (catalogue code), period (YYYY, YYYY-Qn, YYYY-MM),
value, and optionally region (ISO 3166-2), market (market code within the country), flag (<, > or E),
source, comment. A value published as a bound may be written "<2.5": it is stored as 2.5 with the flag "<".
"""

from pathlib import Path

import pandas as pd
from django.utils.translation import gettext as _

from monitoring.imports.reading import (
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
    FileRefused,
    ParsedFile,
    canonical_frame,
    duplicate_columns_errors,
    missing_columns_errors,
    read_table,
    row_error,
)

TEMPLATE_COLUMNS = CANONICAL_COLUMNS
# Shown in the downloadable template: a national annual value, a bound, a regional and a market price.
TEMPLATE_EXAMPLE_ROWS = [
    {"country": "KG", "indicator": "STUNTING", "period": "2021", "value": "11.8", "source": "National survey"},
    {"country": "KAZ", "indicator": "POU", "period": "2021", "value": "<2.5", "source": "FAO"},
    {"country": "KG", "indicator": "CPI_FOOD_KG_DEC", "period": "2023", "value": "108.1", "region": "KG-C"},
    {"country": "KG", "indicator": "PRICE_WHEAT_FLOUR", "period": "2024-01", "value": "45.5", "market": "bishkek"},
]


def parse(path: Path) -> ParsedFile:
    table = read_table(path)
    table.columns = [column if column == "row" else column.strip().lower() for column in table.columns]
    if duplicated := duplicate_columns_errors(list(table.columns)):  # "Region" and "region"
        raise FileRefused(duplicated)
    errors = missing_columns_errors(table, REQUIRED_COLUMNS)
    unknown = [column for column in table.columns if column not in TEMPLATE_COLUMNS and column != "row"]
    errors += [
        row_error(
            row=1,
            column=column,
            value="",
            reason=_("Unknown column; the template's columns are: %(columns)s.")
            % {"columns": ", ".join(TEMPLATE_COLUMNS)},
        )
        for column in unknown
    ]
    if errors:
        raise FileRefused(errors)
    if table.empty:
        raise FileRefused([row_error(row=1, column="", value="", reason=_("The file has a header but no data rows."))])
    rows = canonical_frame(
        **{column: table[column] for column in ["row", *TEMPLATE_COLUMNS] if column in table.columns}
    )
    return ParsedFile(rows=rows, layout="template")


def template_frame() -> pd.DataFrame:
    return pd.DataFrame([{column: row.get(column, "") for column in TEMPLATE_COLUMNS} for row in TEMPLATE_EXAMPLE_ROWS])
