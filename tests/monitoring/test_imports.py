"""The import service through our template: every malformed file is refused with a per-row message and
writes nothing; good files are written once, with history, within the user's country scope."""

from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from openpyxl import Workbook

from monitoring.imports.service import import_observations_file
from monitoring.models import Door, ImportBatch, Observation
from tests.conftest import require_service
from tests.factories import MarketFactory, ObservationFactory, PeriodApprovalFactory, user_with_role

pytestmark = pytest.mark.django_db

HEADER = "country,indicator,period,value,region,market,flag,source,comment\n"


def write(tmp_path: Path, text: str, *, name: str = "upload.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def import_text(tmp_path, text, **kwargs) -> ImportBatch:
    return import_observations_file(path=write(tmp_path, text), file_format="template", **kwargs)


def assert_refused_with(batch: ImportBatch, *, row: int, column: str, reason_part: str) -> None:
    assert batch.status == ImportBatch.Status.REFUSED
    matching = [e for e in batch.errors if e["row"] == row and e["column"] == column]
    assert matching, f"no error for row {row}, column {column}: {batch.errors}"
    assert any(reason_part.lower() in e["reason"].lower() for e in matching), matching
    assert Observation.objects.count() == 0
    assert Observation.history.count() == 0


# --- good files ---------------------------------------------------------------------------------------


def test_template_csv_creates_observations_with_places_bounds_and_history(tmp_path, reference):
    # given a national value, a bound, a regional value and a market price
    MarketFactory(country=reference.kg, code="bishkek", name="Bishkek", region=reference.regions["KG-GB"])
    text = HEADER + (
        "KG,STUNTING,2021,11.8,,,,National survey,\n"
        "KAZ,POU,2021,<2.5,,,,FAO,\n"
        "KG,CPI_FOOD_KG_DEC,2023,108.1,KG-C,,,NSC,checked\n"
        "KG,PRICE_WHEAT_FLOUR,2024-01,45.5,,bishkek,,WFP,\n"
    )
    # when
    batch = import_text(tmp_path, text)
    # then
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert (batch.rows_read, batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (4, 4, 0, 0)
    pou = Observation.objects.get(indicator__code="POU", country=reference.kz)
    assert (pou.value, pou.flag, pou.display_value) == (2.5, "<", "<2.5")
    regional = Observation.objects.get(indicator__code="CPI_FOOD_KG_DEC")
    assert (regional.place_key, regional.region.code, regional.comment) == ("KG-C", "KG-C", "checked")
    price = Observation.objects.get(indicator__code="PRICE_WHEAT_FLOUR")
    assert (price.place_key, price.market.code, price.region.code, str(price.period_start)) == (
        "market:bishkek",
        "bishkek",
        "KG-GB",
        "2024-01-01",
    )
    assert all(
        o.status == Observation.Status.DRAFT and o.import_batch_id == batch.pk for o in Observation.objects.all()
    )
    history = Observation.history.all()
    assert history.count() == 4
    assert {(h.history_type, h.door) for h in history} == {("+", "import")}
    assert len(batch.file_hash) == 64


def test_importing_the_same_file_twice_changes_nothing(tmp_path, reference):
    # given a file imported once
    text = HEADER + "KG,STUNTING,2021,11.8,,,,survey,\nTJ,CPI_FOOD,2023-05,140.25,,,,FAOSTAT,\n"
    first = import_text(tmp_path, text)
    before = list(Observation.objects.order_by("pk").values_list("pk", "value", "flag", "source", "updated_at"))
    history_before = Observation.history.count()
    # when it is imported again
    second = import_text(tmp_path, text)
    # then nothing changed: counts, values, timestamps, history
    assert first.rows_created == 2
    assert (second.status, second.rows_created, second.rows_updated, second.rows_unchanged) == ("imported", 0, 0, 2)
    after = list(Observation.objects.order_by("pk").values_list("pk", "value", "flag", "source", "updated_at"))
    assert after == before
    assert Observation.history.count() == history_before


def test_a_changed_value_is_updated_with_a_history_row(tmp_path, reference):
    # given
    import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\nKG,STUNTING,2020,12.0,,,,,\n")
    # when one value changes
    batch = import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.5,,,,,\nKG,STUNTING,2020,12.0,,,,,\n")
    # then
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (0, 1, 1)
    assert Observation.objects.get(period="2021").value == 11.5
    changed = Observation.history.filter(period="2021").order_by("history_id")
    assert [(h.history_type, h.value) for h in changed] == [("+", 11.8), ("~", 11.5)]


def test_dry_run_counts_and_writes_nothing(tmp_path, reference):
    # given
    text = HEADER + "KG,STUNTING,2021,11.8,,,,,\n"
    # when
    batch = import_text(tmp_path, text, dry_run=True)
    # then
    assert (batch.status, batch.rows_created) == (ImportBatch.Status.DRY_RUN, 1)
    assert Observation.objects.count() == 0
    assert Observation.history.count() == 0


def test_status_given_is_applied_and_compared(tmp_path, reference):
    # given a draft
    import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n")
    # when the same value is imported as approved (published data)
    batch = import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n", status="approved")
    # then it is approved
    assert batch.rows_updated == 1
    assert Observation.objects.get().status == Observation.Status.APPROVED


def test_utf8_bom_and_windows_1251_and_semicolons_are_read(tmp_path, reference):
    # given a UTF-8 file with a BOM, and a Windows-1251 file from Russian Excel (';' separator, Cyrillic comment)
    bom = write(tmp_path, "\ufeff" + HEADER + "KG,STUNTING,2021,11.8,,,,,\n", name="bom.csv")
    cyrillic = write(
        tmp_path,
        "country;indicator;period;value;comment\nKG;WASTING;2021;2,5;Данные обследования\n",
        name="cp1251.csv",
        encoding="cp1251",
    )
    # when
    first = import_observations_file(path=bom, file_format="template")
    second = import_observations_file(path=cyrillic, file_format="template")
    # then
    assert first.status == second.status == ImportBatch.Status.IMPORTED, (first.errors, second.errors)
    wasting = Observation.objects.get(indicator__code="WASTING")
    assert (wasting.value, wasting.comment) == (2.5, "Данные обследования")


def test_xlsx_with_computed_formulas_is_read(tmp_path, reference):
    # given an XLSX whose value is a formula with its cached result (as Excel saves it)
    path = tmp_path / "upload.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["country", "indicator", "period", "value"])
    sheet.append(["KG", "STUNTING", 2021, "=10+1.8"])
    book.save(path)
    _cache_formula_results(path, {"D2": "11.8"})
    # when
    batch = import_observations_file(path=path, file_format="template")
    # then
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert Observation.objects.get().value == 11.8


def _cache_formula_results(path: Path, values: dict[str, str]) -> None:
    """Write the cached values Excel would store beside each formula (openpyxl writes none)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    sheet = contents["xl/worksheets/sheet1.xml"].decode()
    for cell, value in values.items():
        sheet = re.sub(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?', rf"\1\2<v>{value}</v>", sheet)
    contents["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


# --- malformed files: a per-row message, and nothing written --------------------------------------------


def test_xlsx_formula_without_a_computed_value_is_refused_naming_the_cell(tmp_path, reference):
    # given an XLSX written by a program: a formula and no cached value
    path = tmp_path / "upload.xlsx"
    book = Workbook()
    book.active.append(["country", "indicator", "period", "value"])
    book.active.append(["KG", "STUNTING", 2021, "=A1*2"])
    book.save(path)
    # when
    batch = import_observations_file(path=path, file_format="template")
    # then
    assert_refused_with(batch, row=2, column="D2", reason_part="formula")


@pytest.mark.parametrize(
    ("text", "row", "column", "reason"),
    [
        ("country,indicator,period\nKG,STUNTING,2021\n", 1, "value", "missing"),
        ("country,indicator,period,value,colour\nKG,STUNTING,2021,1,red\n", 1, "colour", "unknown column"),
        (HEADER + "XX,STUNTING,2021,11.8,,,,,\n", 2, "country", "unknown country"),
        (HEADER + "KG,STUNTING,2021,11.8,,,,,\nKG,NOPE,2021,1,,,,,\n", 3, "indicator", "unknown indicator"),
        (HEADER + "KG,STUNTING,2021,eleven,,,,,\n", 2, "value", "not a number"),
        (HEADER + "KG,STUNTING,2021,,,,,,\n", 2, "value", "missing"),
        (HEADER + "KG,STUNTING,2021,130,,,,,\n", 2, "value", "above the highest valid value"),
        (HEADER + "KG,PRICE_BREAD,2021-02,-3,,,,,\n", 2, "value", "below the lowest valid value"),
        (HEADER + "KG,STUNTING,2021-07,11.8,,,,,\n", 2, "period", "monthly period, but this indicator is annual"),
        (HEADER + "KG,CPI_FOOD,2021,100,,,,,\n", 2, "period", "annual period, but this indicator is monthly"),
        (HEADER + "KG,STUNTING,21/07,11.8,,,,,\n", 2, "period", "not a period"),
        (HEADER + "KG,STUNTING,2021,11.8,,,,,\nKG,STUNTING,2021,12.0,,,,,\n", 3, "period", "as row 2"),
        (HEADER + "KG,STUNTING,2021,11.8,KZ-11,,,,\n", 2, "region", "not in this country"),
        (HEADER + "KG,STUNTING,2021,11.8,KG-ZZ,,,,\n", 2, "region", "unknown region"),
        (HEADER + "KZ,STUNTING,2015,11.8,KZ-10,,,,\n", 2, "region", "did not exist"),
        (HEADER + "KG,PRICE_BREAD,2021-02,30,,nowhere,,,\n", 2, "market", "unknown market"),
        (HEADER + "KG,STUNTING,2021,11.8,,,X,,\n", 2, "flag", "unknown flag"),
        (HEADER + "KG,CEREAL_IDR,2021,11.8,,,,,\n", 2, "indicator", "derived"),
        ("country,indicator,period,value,region, region\nKG,STUNTING,2021,1,,\n", 1, "region", "appears twice"),
        ("country,indicator,period,value,Region,region\nKG,STUNTING,2021,1,,\n", 1, "region", "appears twice"),
    ],
    ids=[
        "missing-column",
        "unknown-column",
        "unknown-country",
        "unknown-indicator",
        "non-numeric",
        "empty-value",
        "above-range",
        "below-range",
        "monthly-for-annual",
        "annual-for-monthly",
        "not-a-period",
        "duplicate-rows",
        "region-of-other-country",
        "unknown-region",
        "region-not-yet-created",
        "unknown-market",
        "unknown-flag",
        "derived-indicator",
        "column-twice-with-spaces",
        "column-twice-in-other-case",
    ],
)
def test_malformed_rows_are_refused_and_nothing_is_written(tmp_path, reference, text, row, column, reason):
    # given a file that is wrong in one place (and right elsewhere)
    # when
    batch = import_text(tmp_path, text)
    # then
    assert_refused_with(batch, row=row, column=column, reason_part=reason)
    assert ImportBatch.objects.get(pk=batch.pk).errors == batch.errors


@pytest.mark.parametrize("column", ["source", "comment"])
def test_a_null_character_in_a_text_cell_is_refused_naming_the_cell(tmp_path, reference, column):
    # given a source or comment holding a null character (PostgreSQL text cannot store it)
    cells = {"source": "FAO", "comment": "checked"}
    cells[column] = "bad\x00text"
    text = HEADER + f"KG,STUNTING,2021,11.8,,,,{cells['source']},{cells['comment']}\n"
    # when
    batch = import_text(tmp_path, text)
    # then the report shows the cell with the symbol for null
    assert_refused_with(batch, row=2, column=column, reason_part="null character")
    assert ImportBatch.objects.get(pk=batch.pk).errors[0]["value"] == "bad\u2400text"


def test_one_bad_row_among_good_ones_refuses_the_whole_file(tmp_path, reference):
    # given
    text = HEADER + "KG,STUNTING,2021,11.8,,,,,\nKG,WASTING,2021,abc,,,,,\nKG,WASTING,2020,2.0,,,,,\n"
    # when
    batch = import_text(tmp_path, text)
    # then
    assert_refused_with(batch, row=3, column="value", reason_part="not a number")
    assert (batch.rows_read, batch.rows_rejected) == (3, 1)


# --- files written in chunks (a large file is validated and staged in chunks of CHUNK_ROWS rows) --------


@pytest.fixture
def two_row_chunks(monkeypatch):
    monkeypatch.setattr("monitoring.imports.service.CHUNK_ROWS", 2)


def written_by_key(first: str, second: str, *fields: str) -> dict[tuple, tuple]:
    """The observations' `fields`, by (first, second): e.g. (indicator code, period) -> (source, flag)."""
    return {(row[0], row[1]): row[2:] for row in Observation.objects.values_list(first, second, *fields)}


def test_a_bad_row_in_a_later_chunk_takes_back_the_chunks_already_written(tmp_path, reference, two_row_chunks):
    # given five rows in three chunks; the last one is bad
    text = HEADER + (
        "KG,STUNTING,2021,11.8,,,,,\nKG,STUNTING,2020,12.0,,,,,\n"
        "KG,WASTING,2021,2.0,,,,,\nKG,WASTING,2020,2.1,,,,,\nKG,POU,2021,abc,,,,,\n"
    )
    # when
    batch = import_text(tmp_path, text)
    # then the file is refused whole, recorded once, and nothing of the first chunks remains
    assert_refused_with(batch, row=6, column="value", reason_part="not a number")
    assert (batch.rows_read, batch.rows_rejected) == (5, 1)
    assert list(ImportBatch.objects.values_list("status", flat=True)) == [ImportBatch.Status.REFUSED]


def test_a_key_repeated_in_another_chunk_is_refused_naming_the_first_row(tmp_path, reference, two_row_chunks):
    # given the same indicator, place and period in rows 2 and 5 (first and second chunk)
    text = HEADER + (
        "KG,STUNTING,2021,11.8,,,,,\nKG,STUNTING,2020,12.0,,,,,\nKG,WASTING,2021,2.0,,,,,\nkg,stunting,2021,11.9,,,,,\n"
    )
    # when
    batch = import_text(tmp_path, text)
    # then
    assert_refused_with(batch, row=5, column="period", reason_part="as row 2")
    assert batch.rows_rejected == 1


def test_chunks_with_different_constant_columns_keep_each_rows_values(tmp_path, reference, two_row_chunks):
    # given a source and a region that are constant within each chunk but differ between chunks, and a
    # third chunk where they vary
    text = HEADER + (
        "KG,STUNTING,2021,11.8,,,,survey A,\nKG,STUNTING,2020,12.0,,,,survey A,\n"
        "KG,CPI_FOOD_KG_DEC,2023,108.1,KG-C,,,NSC,\nKG,CPI_FOOD_KG_DEC,2022,101.5,KG-C,,,NSC,\n"
        "KG,WASTING,2021,2.0,,,E,FAO,x\nKG,CPI_FOOD_KG_DEC,2021,99.0,KG-GB,,,,\n"
    )
    # when
    batch = import_text(tmp_path, text)
    # then every row has its own values, wherever its chunk sent them
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (6, 0, 0)
    assert written_by_key("indicator__code", "period", "region__code", "source", "flag", "comment") == {
        ("STUNTING", "2021"): (None, "survey A", "", ""),
        ("STUNTING", "2020"): (None, "survey A", "", ""),
        ("CPI_FOOD_KG_DEC", "2023"): ("KG-C", "NSC", "", ""),
        ("CPI_FOOD_KG_DEC", "2022"): ("KG-C", "NSC", "", ""),
        ("WASTING", "2021"): (None, "FAO", "E", "x"),
        ("CPI_FOOD_KG_DEC", "2021"): ("KG-GB", "", "", ""),
    }
    assert Observation.history.filter(history_type="+").count() == 6
    # and the same file again, in the same chunks, changes nothing
    again = import_text(tmp_path, text)
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 6)


def test_market_prices_in_chunks_keep_their_market_region_and_exact_value(tmp_path, reference, two_row_chunks):
    # given market prices (flag, source and comment the same in every row: the compact staging) in two chunks
    osh = MarketFactory(country=reference.kg, code="osh-bazaar", name="Osh", region=reference.regions["KG-O"])
    MarketFactory(country=reference.kg, code="bishkek", name="Bishkek", region=reference.regions["KG-GB"])
    text = HEADER + (
        "KG,PRICE_WHEAT_FLOUR,2024-01,45.123456789,,osh-bazaar,,WFP,\n"
        "KG,PRICE_WHEAT_FLOUR,2024-02,0.1,,osh-bazaar,,WFP,\n"
        "KG,PRICE_WHEAT_FLOUR,2024-01,47.25,,bishkek,,WFP,\n"
    )
    # when
    batch = import_text(tmp_path, text)
    # then
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    assert written_by_key("place_key", "period", "market__code", "region__code", "value") == {
        ("market:osh-bazaar", "2024-01"): ("osh-bazaar", "KG-O", 45.123456789),
        ("market:osh-bazaar", "2024-02"): ("osh-bazaar", "KG-O", 0.1),
        ("market:bishkek", "2024-01"): ("bishkek", "KG-GB", 47.25),
    }
    assert Observation.objects.get(period="2024-02").period_start.isoformat() == "2024-02-01"
    assert Observation.objects.filter(market=osh).count() == 2


def test_a_dry_run_in_chunks_counts_the_whole_file_and_writes_nothing(tmp_path, reference, two_row_chunks):
    # given one existing value, changed by the file
    import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n")
    text = HEADER + "KG,STUNTING,2021,11.5,,,,,\nKG,STUNTING,2020,12.0,,,,,\nKG,WASTING,2021,2.0,,,,,\n"
    # when
    batch = import_text(tmp_path, text, dry_run=True)
    # then
    assert (batch.status, batch.rows_created, batch.rows_updated) == (ImportBatch.Status.DRY_RUN, 2, 1)
    assert list(Observation.objects.values_list("period", "value")) == [("2021", 11.8)]
    assert Observation.history.count() == 1
    recorded = ImportBatch.objects.get(pk=batch.pk)
    assert (recorded.status, recorded.rows_created, recorded.rows_updated) == (ImportBatch.Status.DRY_RUN, 2, 1)


def test_a_failed_write_reports_its_own_error_not_the_aborted_transaction(
    tmp_path, reference, two_row_chunks, monkeypatch
):
    require_service(connection.vendor == "postgresql", "the chunk writer's thread is PostgreSQL's")

    # given a clerk's file of three chunks, and a database that refuses the first chunk's staging
    def failing_copy(raw_connection, payload):
        with raw_connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr("monitoring.imports.service._staging_copy", failing_copy)
    clerk = user_with_role("clerk", reference.kg)
    text = HEADER + (
        "KG,STUNTING,2021,11.8,,,,,\nKG,STUNTING,2020,12.0,,,,,\nKG,WASTING,2021,2.0,,,,,\n"
        "KG,WASTING,2020,2.1,,,,,\nKG,POU,2021,7.5,,,,,\n"
    )
    # when / then the database's own error reaches the caller, and nothing is written
    with pytest.raises(psycopg.errors.DivisionByZero):
        import_text(tmp_path, text, user=clerk)
    assert Observation.objects.count() == 0
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("text", ["", HEADER, "\n\n"], ids=["no-bytes", "header-only", "blank-lines"])
def test_an_empty_file_is_refused(tmp_path, reference, text):
    # when
    batch = import_text(tmp_path, text)
    # then
    assert batch.status == ImportBatch.Status.REFUSED
    assert batch.errors and batch.errors[0]["row"] == 1
    assert Observation.objects.count() == 0


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(tmp_path, reference):
    # given a blank line between rows
    text = HEADER + "KG,STUNTING,2021,11.8,,,,,\n\nKG,WASTING,2021,abc,,,,,\n"
    # when
    batch = import_text(tmp_path, text)
    # then the bad row is row 4 (header 1, row 2, blank 3)
    assert_refused_with(batch, row=4, column="value", reason_part="not a number")


# --- scope and workflow ---------------------------------------------------------------------------------


def test_a_clerk_of_another_country_is_refused_through_the_import_door(tmp_path, reference):
    # given a clerk of Kyrgyzstan and a file with a Kazakh row
    clerk = user_with_role("clerk", reference.kg)
    text = HEADER + "KG,STUNTING,2021,11.8,,,,,\nKZ,STUNTING,2021,8.0,,,,,\n"
    # when
    batch = import_text(tmp_path, text, user=clerk, door=Door.ADMIN)
    # then
    assert_refused_with(batch, row=3, column="country", reason_part="may not enter data for this country")
    assert batch.created_by == clerk


def test_a_clerk_imports_their_own_country_as_draft_with_their_name_on_the_history(tmp_path, reference):
    # given
    clerk = user_with_role("clerk", reference.kg)
    # when
    batch = import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n", user=clerk)
    # then
    assert batch.status == ImportBatch.Status.IMPORTED, batch.errors
    observation = Observation.objects.get()
    assert (observation.status, observation.created_by, observation.updated_by) == ("draft", clerk, clerk)
    assert Observation.history.get().history_user == clerk


def test_a_clerk_cannot_overwrite_an_approved_value_but_the_system_can(tmp_path, reference):
    # given an approved value
    ObservationFactory(indicator=reference.indicators["STUNTING"], country=reference.kg, period="2021", value=11.8)
    clerk = user_with_role("clerk", reference.kg)
    changed = HEADER + "KG,STUNTING,2021,9.9,,,,,\n"
    # when a clerk imports another value, and the same value
    refused = import_text(tmp_path, changed, user=clerk)
    same = import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n", user=clerk)
    # then the change is refused, the unchanged row passes
    assert refused.status == ImportBatch.Status.REFUSED
    assert "ask the approver to reopen it" in refused.errors[0]["reason"]
    assert same.status == ImportBatch.Status.IMPORTED and same.rows_unchanged == 1
    assert Observation.objects.get().value == 11.8
    # and when the system imports the change, it is written
    system = import_text(tmp_path, changed)
    assert system.rows_updated == 1
    assert Observation.objects.get().value == 9.9


def test_a_clerk_cannot_add_values_to_a_locked_period(tmp_path, reference):
    # given Kyrgyzstan's 2021 is approved and locked
    PeriodApprovalFactory(country=reference.kg, period="2021")
    clerk = user_with_role("clerk", reference.kg)
    # when
    batch = import_text(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n", user=clerk)
    # then
    assert_refused_with(batch, row=2, column="value", reason_part="approved")


# --- the command ---------------------------------------------------------------------------------------


def test_command_exits_zero_when_imported_and_nonzero_with_the_report_when_refused(tmp_path, reference, capsys):
    # given
    good = write(tmp_path, HEADER + "KG,STUNTING,2021,11.8,,,,,\n", name="good.csv")
    bad = write(tmp_path, HEADER + "KG,STUNTING,2021,lots,,,,,\n", name="bad.csv")
    # when / then: dry run and import succeed
    call_command("import_observations", str(good), "--format", "template", "--dry-run")
    assert Observation.objects.count() == 0
    call_command("import_observations", str(good), "--format", "template")
    assert Observation.objects.count() == 1
    # and a refused file raises CommandError (exit status 1) after printing the per-row report
    with pytest.raises(CommandError, match="Refused"):
        call_command("import_observations", str(bad), "--format", "template")
    report = capsys.readouterr().err
    assert "2\tvalue\tlots\tThe value is not a number." in report


def test_command_imports_as_the_named_user_within_their_scope(tmp_path, reference):
    # given
    user_with_role("clerk", reference.kg, username="kg_clerk")
    path = write(tmp_path, HEADER + "KZ,STUNTING,2021,11.8,,,,,\n")
    # when / then
    with pytest.raises(CommandError):
        call_command("import_observations", str(path), "--format", "template", "--user", "kg_clerk")
    with pytest.raises(CommandError, match="No user"):
        call_command("import_observations", str(path), "--format", "template", "--user", "nobody")
    assert Observation.objects.count() == 0
