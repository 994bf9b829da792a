"""Building the summit report: the files show the database's numbers, every state has its section,
Russian renders in the repository's fonts, a rebuild from the same snapshot gives the same numbers, and a
failed build leaves the previous version current and downloadable."""

import io
import re
from statistics import fmean

import docx
import openpyxl
import pypdf
import pytest
from django.db import IntegrityError, transaction
from fontTools.ttLib import TTFont

from monitoring.models import Observation
from reports import services
from reports.charts import FONTS_DIR
from reports.formatting import format_number
from reports.models import ReportNarrative, SummitReport
from tests.reports.conftest import YEAR

pytestmark = pytest.mark.django_db


def build(*, user, language="en", formats=None, snapshot_from=None, capture) -> SummitReport:
    report = services.report_create(
        year=YEAR, language=language, user=user, formats=formats, snapshot_from=snapshot_from
    )
    with capture(execute=True):
        services.report_enqueue(report=report, user=user)
    report.refresh_from_db()
    return report


def pdf_text(report: SummitReport) -> str:
    with report.pdf_file.open("rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    return normalise("\n".join(page.extract_text() for page in reader.pages))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def db_value(code: str, iso2: str, period: str) -> float:
    return Observation.objects.get(indicator__code=code, country__iso2=iso2, period=period, place_key="").value


def db_year_mean(code: str, iso2: str, year: int) -> float:
    return fmean(
        Observation.objects.approved()
        .filter(indicator__code=code, country__iso2=iso2, place_key="", period_start__year=year)
        .values_list("value", flat=True)
    )


def db_usd_mean(code: str, iso2: str, year: int) -> float:
    prices = dict(
        Observation.objects.approved()
        .filter(indicator__code=code, country__iso2=iso2, place_key="", period_start__year=year)
        .values_list("period", "value")
    )
    rates = dict(
        Observation.objects.approved()
        .filter(indicator__code="EXCHANGE_RATE_USD", country__iso2=iso2, period_start__year=year)
        .values_list("period", "value")
    )
    return fmean(prices[period] / rates[period] for period in prices if period in rates)


def xlsx_rows(workbook, sheet: str) -> list[list]:
    return [list(row) for row in workbook[sheet].iter_rows(min_row=3, values_only=True)]


def test_pdf_word_and_excel_show_the_databases_numbers_and_every_state(
    scene, analyst, needs_weasyprint, django_capture_on_commit_callbacks
):
    # given the known data set (tests/reports/scene.py) and a narrative written for Kyrgyzstan
    draft = services.report_create(year=YEAR, language="en", user=analyst)
    services.report_narrative_save(
        report=draft, section="country", country=scene.countries["KG"], text="Flour prices rose.", user=analyst
    )

    # when an analyst builds every format
    with django_capture_on_commit_callbacks(execute=True):
        services.report_enqueue(report=draft, user=analyst)
    report = SummitReport.objects.get(pk=draft.pk)

    # then the version is ready, complete and the one to send
    assert report.status == SummitReport.Status.READY, report.failure_reason
    assert (report.progress, report.is_current) == (100, True)
    assert {code for code, _file in report.available_files} == {"pdf", "docx", "xlsx", "html"}

    # and the PDF prints the database's values (annual, monthly mean, converted to USD)
    kz_pou = db_value("POU", "KZ", str(YEAR))
    uz_cereal = db_value("CEREAL_PROD", "UZ", str(YEAR))
    kg_flour = db_year_mean("PRICE_WHEAT_FLOUR", "KG", YEAR)
    kg_flour_usd = db_usd_mean("PRICE_WHEAT_FLOUR", "KG", YEAR)
    text = pdf_text(report)
    for value in (kz_pou, uz_cereal, kg_flour, kg_flour_usd):
        assert format_number(value, "en") in text or format_number(value, "en", decimals=0) in text, value
    assert "Food prices were abnormally high in Kyrgyzstan in 7 of 12 months; wheat flour led the rise." in text
    assert "No approved exchange rate for Turkmenistan" in text
    assert "Flour prices rose." in text
    # every state has its section, listed in the PDF's outline and in the contents with a page number
    with report.pdf_file.open("rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    outline = [item.title for item in _flatten(reader.outline)]
    for name in ("Kazakhstan", "Kyrgyzstan", "Tajikistan", "Turkmenistan", "Uzbekistan"):
        assert name in outline
        assert re.search(rf"{name} (\. )+\d+", text), f"no page number for {name} in the contents"
    assert f"2 / {len(reader.pages)}" in text  # page numbers

    # and the Word file has the same numbers, a heading per state and the charts as SVG (vector)
    with report.docx_file.open("rb") as handle:
        document = docx.Document(io.BytesIO(handle.read()))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    assert headings == ["Kazakhstan", "Kyrgyzstan", "Tajikistan", "Turkmenistan", "Uzbekistan"]
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    assert {
        format_number(kz_pou, "en"),
        format_number(kg_flour, "en"),
        format_number(uz_cereal, "en", decimals=0),
    } <= cells
    svg_parts = [part for part in document.part.package.iter_parts() if part.content_type == "image/svg+xml"]
    assert len(svg_parts) >= 5

    # and the Excel annex has every table as a sheet, numbers as numbers, traced to observation ids
    with report.xlsx_file.open("rb") as handle:
        workbook = openpyxl.load_workbook(io.BytesIO(handle.read()))
    assert {"status_matrix", "regional_alerts", "cereal_balance", "prices_usd", "key_kz", "alerts_kg",
            "completeness_indicators", "observations"} <= set(workbook.sheetnames)  # fmt: skip
    pou_row = next(row for row in xlsx_rows(workbook, "key_kz") if row[0] == "Prevalence of undernourishment")
    assert pou_row[3] == round(kz_pou, 2)
    usd_row = xlsx_rows(workbook, "prices_usd")[0]
    assert usd_row[3] == round(kg_flour_usd, 2)  # columns: product, unit, KZ, KG, ...
    assert usd_row[5] is None  # Turkmenistan: no exchange rate, no conversion
    traced = {row[0]: row[5] for row in xlsx_rows(workbook, "observations")}
    database = dict(Observation.objects.approved().filter(pk__in=traced).values_list("pk", "value"))
    assert len(database) == len(traced) > 100
    assert all(abs(traced[pk] - value) < 1e-6 for pk, value in database.items())


def _flatten(outline):
    for item in outline:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def test_russian_pdf_uses_only_the_repository_fonts_and_its_text_extracts(
    scene, analyst, needs_weasyprint, django_capture_on_commit_callbacks
):
    # given narratives in Turkmen and Uzbek Latin letters
    draft = services.report_create(year=YEAR, language="ru", user=analyst, formats=["pdf"])
    services.report_narrative_save(
        report=draft, section="country", country=scene.countries["TM"], text="Türkmenistanyň ýagdaýy: ç ş ž ň ä ö ü",
        user=analyst,
    )  # fmt: skip
    services.report_narrative_save(
        report=draft, section="country", country=scene.countries["UZ"], text="Oʻzbekiston gʻalla hosili", user=analyst
    )

    # when the Russian report is built
    with django_capture_on_commit_callbacks(execute=True):
        services.report_enqueue(report=draft, user=analyst)
    report = SummitReport.objects.get(pk=draft.pk)

    # then every font in the PDF is one of the repository's (WeasyPrint names them by their @font-face
    # family), so no glyph fell back to a system font
    assert report.status == SummitReport.Status.READY, report.failure_reason
    with report.pdf_file.open("rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
        for xobject in page["/Resources"].get("/XObject", {}).values():
            resources = xobject.get_object().get("/Resources", {})
            for font in resources.get("/Font", {}).values() if resources else []:
                fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    assert fonts, "no font found"
    assert all(name.startswith(("ReportNotoSans", "ReportDejaVuSans")) for name in fonts), fonts
    # and the repository's font files really cover what was printed
    cmap = TTFont(FONTS_DIR / "NotoSans-Regular.ttf").getBestCmap()
    assert all(ord(letter) in cmap for letter in "Казахстан ҚқҒғҢңӨөҮүҰұҺһІі ÄäÇçŇňŞşÝýŽž ʻ")
    # and Russian, Turkmen and Uzbek text extracts from the PDF
    text = pdf_text(report)
    assert "Казахстан" in text and "Кыргызстан" in text
    assert "Распространённость недоедания" in text
    assert "Содержание" in text and "Приложение Б. Полнота данных, 2023" in text
    assert "Кыргызстан: цены на продовольствие были аномально высокими в 7 из 12 месяцев" in text
    assert "Türkmenistanyň ýagdaýy: ç ş ž ň ä ö ü" in text
    assert "Oʻzbekiston gʻalla hosili" in text
    assert format_number(db_value("CEREAL_PROD", "UZ", str(YEAR)), "ru", decimals=0).replace("\u00a0", " ") in text


def test_rebuild_from_the_same_snapshot_gives_the_same_numbers_after_the_database_changed(
    scene, analyst, django_capture_on_commit_callbacks
):
    # given a ready version
    first = build(user=analyst, formats=["xlsx"], capture=django_capture_on_commit_callbacks)
    assert first.status == SummitReport.Status.READY, first.failure_reason

    # when the database changes afterwards
    Observation.objects.filter(indicator__code="POU", country__iso2="KZ", period=str(YEAR)).update(value=9.9)
    rebuilt = build(user=analyst, formats=["xlsx"], snapshot_from=first, capture=django_capture_on_commit_callbacks)
    fresh = build(user=analyst, formats=["xlsx"], capture=django_capture_on_commit_callbacks)

    # then the rebuild from the stored snapshot has exactly the same tables, and a fresh build the new value
    def sheets(report):
        with report.xlsx_file.open("rb") as handle:
            workbook = openpyxl.load_workbook(io.BytesIO(handle.read()))
        return {name: xlsx_rows(workbook, name) for name in workbook.sheetnames if name != "about"}

    assert rebuilt.snapshot_hash == first.snapshot_hash
    assert sheets(rebuilt) == sheets(first)
    pou = next(row for row in sheets(fresh)["key_kz"] if row[0] == "Prevalence of undernourishment")
    assert pou[3] == 9.9
    assert fresh.snapshot_hash != first.snapshot_hash
    assert SummitReport.objects.get(is_current=True, year=YEAR, language="en").pk == fresh.pk


def test_a_failed_build_keeps_the_previous_version_current_and_downloadable(
    scene, analyst, client, monkeypatch, django_capture_on_commit_callbacks
):
    # given a ready version
    first = build(user=analyst, formats=["xlsx", "html"], capture=django_capture_on_commit_callbacks)
    assert first.status == SummitReport.Status.READY, first.failure_reason

    # when the chart renderer (vl-convert, the outside world here) breaks during the next build
    def broken_chart(spec, *, width=640):
        raise RuntimeError("vl-convert could not draw the chart")

    monkeypatch.setattr("reports.charts.chart_svg", broken_chart)
    second = build(user=analyst, formats=["pdf", "xlsx"], capture=django_capture_on_commit_callbacks)

    # then the new version is failed with the reason and has no file
    assert second.status == SummitReport.Status.FAILED
    assert "vl-convert could not draw the chart" in second.failure_reason
    assert second.available_files == [] and not second.is_current
    # and the previous one is still the one to send, and downloads
    first.refresh_from_db()
    assert first.is_current
    response = client.get(f"/reports/{first.pk}/download/xlsx/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    # and the page shows the failure's reason to the analyst
    client.force_login(analyst)
    page = client.get(f"/reports/{second.pk}/")
    assert "vl-convert could not draw the chart" in page.content.decode()


def test_only_one_version_per_year_and_language_can_be_the_one_to_send(scene, analyst):
    # given two versions of the same year and language
    first = services.report_create(year=YEAR, language="en", user=analyst)
    second = services.report_create(year=YEAR, language="en", user=analyst)
    SummitReport.objects.filter(pk=first.pk).update(is_current=True)

    # when the second is marked current too, then the database refuses
    with pytest.raises(IntegrityError), transaction.atomic():
        SummitReport.objects.filter(pk=second.pk).update(is_current=True)
    assert second.version == first.version + 1


def test_a_new_version_starts_with_the_latest_narrative(scene, analyst):
    # given a narrative on version 1
    first = services.report_create(year=YEAR, language="en", user=analyst)
    services.report_narrative_save(report=first, section="summary", text="A hard year.", user=analyst)

    # when version 2 is created
    second = services.report_create(year=YEAR, language="en", user=analyst)

    # then it carries the text, which can now change on its own
    assert second.narratives.get(section="summary").text == "A hard year."
    services.report_narrative_save(report=second, section="summary", text="A better year.", user=analyst)
    assert first.narratives.get(section="summary").text == "A hard year."
    assert ReportNarrative.objects.filter(section="summary").count() == 2
