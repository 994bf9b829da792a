"""The Excel data annex: every table of the report as a sheet, plus every observation and alert the
report rests on (with their database ids), numbers kept as numbers rounded as the report prints them."""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from reports.charts import LEVEL_COLOURS
from reports.contents import ReportContents, Table
from reports.formatting import LevelCell, Number, auto_decimals, rounded

SHEET_NAME_LIMIT = 31  # Excel's limit


def render_xlsx(contents: ReportContents) -> bytes:
    workbook = Workbook()
    about = workbook.active
    about.title = "about"
    about.append([contents.title])
    about["A1"].font = Font(bold=True, size=14)
    about.append([contents.subtitle])
    about.append([_("Version"), contents.version])
    about.append([_("Snapshot of the approved data"), contents.snapshot_taken_at])
    about.append([])
    about.append([_("Sheet"), _("Table")])
    for cell in about[6]:
        cell.font = Font(bold=True)
    used = {"about"}
    for table in contents.tables():
        name = _sheet_name(table.key, used)
        about.append([name, table.title])
        _write_table(workbook.create_sheet(name), table)
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 80
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(key: str, used: set[str]) -> str:
    base = key[:SHEET_NAME_LIMIT]
    name, counter = base, 2
    while name in used:
        suffix = f"_{counter}"
        name, counter = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix, counter + 1
    used.add(name)
    return name


def _write_table(sheet, table: Table) -> None:
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(table.columns)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.rows:
        sheet.append([_value(cell) for cell in row])
        for excel_cell, cell in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(cell, Number) and cell.value is not None:
                decimals = auto_decimals(cell.value) if cell.decimals is None else cell.decimals
                excel_cell.number_format = "#,##0" + ("." + "0" * decimals if decimals else "")
                if cell.suffix == "%":
                    excel_cell.number_format += '"%"'
            elif isinstance(cell, LevelCell):
                colour = LEVEL_COLOURS[cell.level].lstrip("#").upper()
                excel_cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    if table.note:
        sheet.append([])
        sheet.append([table.note])
    sheet.freeze_panes = "A3"
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(len(str(column)) + 2, 12), 60)


def _value(cell: object) -> object:
    if isinstance(cell, Number):
        return rounded(cell)
    if isinstance(cell, LevelCell):
        return cell.label
    return cell
