"""The admin's upload page: the same import service, the per-row report on screen and as CSV, templates."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from monitoring.models import ImportBatch, Observation
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db
HEADER = "country,indicator,period,value\n"


def upload(client, text: str, *, name: str = "values.csv", file_format: str = "template", dry_run: bool = False):
    data = {"file": SimpleUploadedFile(name, text.encode()), "file_format": file_format}
    if dry_run:
        data["dry_run"] = "on"
    return client.post(reverse("admin:import_upload"), data)


@pytest.fixture
def admin_client_user(client, reference):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_upload_page_imports_a_file_as_the_signed_in_user(admin_client_user):
    # when
    response = upload(admin_client_user, HEADER + "KG,STUNTING,2021,11.8\n")
    # then
    assert response.status_code == 200
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.door, batch.created_by.username, batch.file_name) == (
        "imported",
        "admin",
        "root",
        "values.csv",
    )
    assert Observation.objects.get().value == 11.8
    assert "Imported" in response.content.decode()


def test_upload_page_shows_the_per_row_report_and_offers_it_as_csv(admin_client_user):
    # when
    response = upload(admin_client_user, HEADER + "KG,STUNTING,2021,11.8\nKG,STUNTING,2020,much\n")
    # then: the report on screen, nothing written
    page = response.content.decode()
    batch = ImportBatch.objects.get()
    assert batch.status == "refused"
    assert "Refused: nothing was written" in page
    assert "<td>3</td><td>value</td><td>much</td><td>The value is not a number.</td>" in page
    csv_url = reverse("admin:import_report_csv", args=[batch.pk])
    assert csv_url in page
    assert Observation.objects.count() == 0
    # and the CSV has the same rows
    report = admin_client_user.get(csv_url)
    assert report["Content-Type"].startswith("text/csv")
    assert report.content.decode().splitlines() == [
        "row,column,value,reason",
        "3,value,much,The value is not a number.",
    ]


def test_upload_page_dry_run_writes_nothing(admin_client_user):
    # when
    response = upload(admin_client_user, HEADER + "KG,STUNTING,2021,11.8\n", dry_run=True)
    # then
    assert "Checked (dry run)" in response.content.decode()
    assert Observation.objects.count() == 0


def test_a_clerk_of_another_country_is_refused_on_the_upload_page(client, reference):
    # given a Kyrgyz clerk with admin access
    clerk = user_with_role("clerk", reference.kg, is_staff=True)
    client.force_login(clerk)
    # when
    response = upload(client, HEADER + "KZ,STUNTING,2021,8.0\n")
    # then
    assert "You may not enter data for this country." in response.content.decode()
    assert Observation.objects.count() == 0


def test_a_viewer_with_admin_access_cannot_import(client, reference):
    # given
    viewer = user_with_role("viewer", None, is_staff=True)
    client.force_login(viewer)
    # when
    response = upload(client, HEADER + "KG,STUNTING,2021,8.0\n")
    # then
    assert response.status_code == 403
    assert Observation.objects.count() == 0


def test_a_file_that_is_not_csv_xlsx_or_xml_gets_a_form_error(admin_client_user):
    # when
    response = upload(admin_client_user, "hello", name="values.pdf")
    # then
    assert response.status_code == 200
    assert "Upload a .csv, .xlsx or .xml file." in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_templates_download_as_csv_and_xlsx_from_the_changelist(admin_client_user):
    # when
    csv_response = admin_client_user.get(reverse("admin:import_template", args=["csv"]))
    xlsx_response = admin_client_user.get(reverse("admin:import_template", args=["xlsx"]))
    # then
    assert (
        csv_response.content.decode().splitlines()[0]
        == "country,indicator,period,value,region,market,flag,source,comment"
    )
    book = load_workbook(io.BytesIO(xlsx_response.content))
    assert [cell.value for cell in book["observations"][1]] == [
        "country",
        "indicator",
        "period",
        "value",
        "region",
        "market",
        "flag",
        "source",
        "comment",
    ]
    assert book["indicators"].max_row > 30
    # and the changelist links to the upload page and the templates
    changelist = admin_client_user.get(reverse("admin:monitoring_importbatch_changelist")).content.decode()
    assert reverse("admin:import_upload") in changelist
    assert reverse("admin:import_template", args=["xlsx"]) in changelist
