"""`build_report` and `build_demo_report` from the command line."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from reports.management.commands.build_demo_report import latest_complete_year
from reports.models import SummitReport
from tests.reports.conftest import YEAR

pytestmark = pytest.mark.django_db


def test_build_report_writes_the_files_to_the_output_folder(scene, tmp_path):
    # given the data set and an output folder
    output = tmp_path / "out"

    # when the command builds two formats
    out = io.StringIO()
    call_command("build_report", year=YEAR, language="en", format="xlsx,html", output=str(output), stdout=out)

    # then both files are there, named by year, language and version, and printed
    report = SummitReport.objects.get()
    names = sorted(path.name for path in output.iterdir())
    assert names == [f"summit-report-{YEAR}-en-v1.html", f"summit-report-{YEAR}-en-v1.xlsx"]
    assert str(output / names[1]) in out.getvalue()
    assert report.is_current and report.built_by is None
    assert "key_kg" in openpyxl.load_workbook(output / names[1]).sheetnames


def test_build_report_refuses_bad_arguments_with_a_message(reference):
    # when the language or the format is unknown, then the command says so and builds nothing
    with pytest.raises(CommandError, match="not a language of the product"):
        call_command("build_report", year=YEAR, language="xx", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("build_report", year=YEAR, format="pdf,odt", stdout=io.StringIO())
    assert not SummitReport.objects.exists()


def test_build_demo_report_builds_once_and_is_quick_when_the_data_did_not_change(scene, monkeypatch, needs_weasyprint):
    # given the data set, with only the Excel file to keep the test quick
    monkeypatch.setattr("reports.services.ALL_FORMATS", ["xlsx"])
    assert latest_complete_year() == YEAR

    # when the demo step runs twice
    call_command("build_demo_report", stdout=io.StringIO())
    second = io.StringIO()
    call_command("build_demo_report", stdout=second)

    # then one version per language exists, and the second run rebuilt nothing
    assert sorted(SummitReport.objects.values_list("language", "version", "status")) == [
        ("en", 1, "ready"),
        ("ru", 1, "ready"),
    ]
    assert "is up to date" in second.getvalue()
