"""Reading files into DataFrames of text, and the shape every format parser returns.

Every parser turns a publisher's layout into rows with our canonical columns (CANONICAL_COLUMNS) and a
`row` column holding the row number as the person sees it in the file (the header is row 1). The service
validates those rows; the parsers only reshape and map codes.
"""

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

CANONICAL_COLUMNS = ["country", "indicator", "period", "value", "region", "market", "flag", "source", "comment"]
REQUIRED_COLUMNS = ["country", "indicator", "period", "value"]


class FileRefused(Exception):
    """The file as a whole cannot be read (empty, wrong columns, not a spreadsheet); carries the errors."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(error["reason"] for error in errors))
        self.errors = errors


def row_error(*, row: int, column: str, value: object, reason: str) -> dict:
    """One line of the per-row report: row as seen in the file (header = 1), column, value, reason."""
    return {"row": int(row), "column": str(column), "value": "" if value is None else str(value), "reason": str(reason)}


@dataclass
class ParsedFile:
    """A file reshaped into canonical rows.

    `rows` has CANONICAL_COLUMNS (text) plus `row` (the file row number) and, for wide layouts where the
    value comes from one of many columns, `value_column` (the file column a value came from).
    `column_labels` maps canonical names to the file's own column names, so errors name what the person sees.
    `skipped` counts rows deliberately left out, by reason (totals-only rules, unmapped series...).
    `markets` lists markets the file declares (WFP): country, code, name, region, latitude, longitude.
    """

    rows: pd.DataFrame
    layout: str
    column_labels: dict[str, str] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    markets: pd.DataFrame | None = None

    def skip(self, reason: str, count: int) -> None:
        if count:
            self.skipped[reason] = self.skipped.get(reason, 0) + int(count)


def empty_rows() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in ["row", *CANONICAL_COLUMNS]})


def canonical_frame(**columns) -> pd.DataFrame:
    """Build a canonical frame; missing optional columns are empty text."""
    length = len(next(iter(columns.values())))
    frame = pd.DataFrame(index=range(length))
    for name in ["row", *CANONICAL_COLUMNS, "value_column"]:
        if name in columns:
            values = columns[name]
            frame[name] = values.to_numpy() if isinstance(values, pd.Series) else values
        elif name != "value_column":
            frame[name] = ""
    return frame


# Letters of the Cyrillic block: a Windows-1251 file decodes to these; a Latin-1 file does not.
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def decode_text(raw: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM), else Windows-1251 or Latin-1, whichever reads as
    words. Ministries' Excel exports are often Windows-1251; FAOSTAT's bulk files are Latin-1."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    as_cyrillic = raw.decode("cp1251", errors="replace")
    non_ascii = [char for char in as_cyrillic if ord(char) > 127]
    cyrillic_share = sum(1 for char in non_ascii if _CYRILLIC.match(char)) / max(len(non_ascii), 1)
    return as_cyrillic if cyrillic_share >= 0.6 else raw.decode("latin-1")


def read_csv_text(path: Path) -> pd.DataFrame:
    """All cells as text ('' when empty), column names stripped, and `row` = the file row number.

    Blank lines are kept while numbering so row numbers match what a spreadsheet shows, then dropped."""
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise FileRefused([row_error(row=1, column="", value="", reason=_("The file is empty."))])
    text = decode_text(raw)
    semicolons = _looks_semicolon(text)
    try:
        with warnings.catch_warnings():
            # A trailing comma on every data row (WFP's old VAM export) is an empty last field, not data.
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                index_col=False,
                skip_blank_lines=False,
                sep=";" if semicolons else ",",
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as error:
        reason = _("The file is not a readable CSV: %(error)s") % {"error": error}
        raise FileRefused([row_error(row=1, column="", value="", reason=reason)])
    frame.columns = [str(column).strip().lstrip("\ufeff") for column in frame.columns]
    if errors := duplicate_columns_errors(list(frame.columns)):
        raise FileRefused(errors)
    frame["row"] = range(2, len(frame) + 2)
    return frame.loc[~_blank_rows(frame.drop(columns="row"))].reset_index(drop=True)


def _blank_rows(cells: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty or white space. Column by column, looking only at the rows still
    blank so far: on a real file the first column settles almost every row."""
    blank = np.ones(len(cells), dtype=bool)
    for name in cells.columns:
        candidates = np.flatnonzero(blank)
        if not len(candidates):
            break
        column = cells[name].iloc[candidates]
        filled = (column != "").to_numpy()
        still_blank = ~filled
        still_blank[filled] = column[filled].str.isspace().to_numpy(dtype=bool)
        blank[candidates] = still_blank
    return blank


def _looks_semicolon(text: str) -> bool:
    """Excel in Russian locales writes CSV with ';' between fields."""
    header = text.split("\n", 1)[0]
    return header.count(";") > header.count(",")


def read_xlsx_text(path: Path) -> pd.DataFrame:
    """The first sheet as text, with computed values of formulas (openpyxl data_only). A formula cell
    without a cached value (a file written by a program that never calculated it) is an error naming
    the cell, because we cannot know its value."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        values_book = load_workbook(path, data_only=True, read_only=True)
        formulas_book = load_workbook(path, data_only=False, read_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise FileRefused(
            [
                row_error(
                    row=1,
                    column="",
                    value="",
                    reason=_("The file is not a readable XLSX workbook: %(error)s") % {"error": error},
                )
            ]
        )
    values_sheet = values_book.worksheets[0]
    formulas_sheet = formulas_book.worksheets[0]
    errors: list[dict] = []
    rows: list[list[str]] = []
    header: list[str] | None = None
    for values_row, formulas_row in zip(values_sheet.iter_rows(), formulas_sheet.iter_rows(), strict=False):
        texts = []
        for value_cell, formula_cell in zip(values_row, formulas_row, strict=False):
            value = value_cell.value
            formula = formula_cell.value
            if value is None and isinstance(formula, str) and formula.startswith("="):
                errors.append(
                    row_error(
                        row=formula_cell.row,
                        column=formula_cell.coordinate,
                        value=formula,
                        reason=_(
                            "The cell holds a formula without a computed value: open and save the file in Excel, "
                            "or type the value."
                        ),
                    )
                )
            texts.append(_cell_text(value))
        if header is None:
            if any(texts):
                header = [text.strip() for text in texts]
            continue
        rows.append([values_row[0].row, *texts])
    values_book.close()
    formulas_book.close()
    if header is None:
        raise FileRefused([row_error(row=1, column="", value="", reason=_("The file is empty."))])
    if duplicated := duplicate_columns_errors([name for name in header if name]):
        raise FileRefused(duplicated)
    width = len(header)
    frame = pd.DataFrame(
        [row[1 : width + 1] + [""] * (width - len(row) + 1) for row in rows], columns=header, dtype=object
    )
    frame = frame.loc[:, [name for name in frame.columns if name]]
    frame["row"] = [row[0] for row in rows]
    cells = frame.drop(columns="row")
    blank = (cells == "").all(axis=1) if len(cells.columns) else pd.Series(True, index=frame.index)
    frame = frame.loc[~blank].reset_index(drop=True)
    if errors:
        raise FileRefused(errors)
    return frame


def _cell_text(value) -> str:
    """Spreadsheet cells as the person reads them: 2021 not 2021.0, 2021-07 for a month date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m")
    return str(value).strip()


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or XLSX file as a frame of text, by its content (XLSX files are ZIP archives)."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        return read_xlsx_text(Path(path))
    return read_csv_text(Path(path))


def duplicate_columns_errors(columns: list[str]) -> list[dict]:
    """A column name written twice (once its spaces are stripped) leaves it unclear which one to read."""
    seen: set[str] = set()
    errors = []
    for column in columns:
        if column in seen:
            reason = _("The column “%(column)s” appears twice; keep one.") % {"column": column}
            errors.append(row_error(row=1, column=column, value="", reason=reason))
        seen.add(column)
    return errors


def missing_columns_errors(frame: pd.DataFrame, required: list[str]) -> list[dict]:
    present = set(frame.columns)
    return [
        row_error(
            row=1,
            column=column,
            value="",
            reason=_("The required column “%(column)s” is missing.") % {"column": column},
        )
        for column in required
        if column not in present
    ]
