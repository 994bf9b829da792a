"""The report pages as people reach them: who may request, build and write; progress; downloads."""

import pytest

from reports import services
from reports.models import ReportNarrative, SummitReport
from tests.factories import user_with_role
from tests.reports.conftest import YEAR

pytestmark = pytest.mark.django_db


def test_an_analyst_requests_writes_the_narrative_builds_and_follows_the_progress(
    scene, analyst, client, django_capture_on_commit_callbacks
):
    # given an analyst on the reports page
    client.force_login(analyst)

    # when they request a version, write the narrative and build it
    response = client.post("/reports/", {"year": YEAR, "language": "en", "formats": ["html", "xlsx"]})
    report = SummitReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/{report.pk}/"
    form = {"summary": "The region held.", "regional": "", "methods": "", "country_kg": "Flour rose in spring."}
    assert client.post(f"/reports/{report.pk}/narrative/", form).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/reports/{report.pk}/build/").status_code == 302

    # then the progress endpoint says ready with its files, and the page shows the report with the text
    progress = client.get(f"/reports/{report.pk}/progress.json").json()
    assert progress["status"] == "ready" and progress["progress"] == 100
    assert set(progress["files"]) == {"html", "xlsx"}
    page = client.get(f"/reports/{report.pk}/").content.decode()
    assert "The region held." in page and "Flour rose in spring." in page
    assert 'id="state-kg"' in page
    # and the text is kept with this version: it can no longer change
    response = client.post(f"/reports/{report.pk}/narrative/", {**form, "summary": "Changed."})
    assert response.status_code == 400
    assert "its text is kept as it was built" in response.content.decode()
    assert ReportNarrative.objects.get(report=report, section="summary").text == "The region held."


def test_people_who_are_not_analysts_cannot_request_build_or_write(scene, client, reference):
    # given a draft and a clerk of Kyrgyzstan
    analyst = user_with_role("analyst", username="analyst_for_draft")
    draft = services.report_create(year=YEAR, language="en", user=analyst)
    clerk = user_with_role("clerk", reference.kg)
    client.force_login(clerk)

    # when the clerk tries every door
    requested = client.post("/reports/", {"year": YEAR, "language": "en", "formats": ["pdf"]})
    built = client.post(f"/reports/{draft.pk}/build/")
    written = client.post(f"/reports/{draft.pk}/narrative/", {"country_kg": "Ours."})

    # then each is refused (a draft is not even visible to them) and nothing changed
    assert requested.status_code == 403
    assert built.status_code == 404 and written.status_code == 404
    assert SummitReport.objects.count() == 1
    draft.refresh_from_db()
    assert draft.status == SummitReport.Status.DRAFT and not draft.narratives.exists()


def test_bad_input_gets_a_message_not_an_error(scene, analyst, client):
    # given an analyst
    client.force_login(analyst)

    # when they send an impossible year and an unknown language
    response = client.post("/reports/", {"year": 12, "language": "xx", "formats": ["pdf"]})

    # then the form says what is wrong, and no version exists
    assert response.status_code == 400
    body = response.content.decode()
    assert "greater than or equal to 1990" in body and "Select a valid choice" in body
    assert not SummitReport.objects.exists()
    # and unknown versions and formats are 404s
    assert client.get("/reports/999999/").status_code == 404
    assert client.get("/reports/999999/progress.json").status_code == 404


def test_the_public_sees_ready_versions_only(scene, analyst, client, django_capture_on_commit_callbacks):
    # given a ready version and a draft
    ready = services.report_create(year=YEAR, language="en", user=analyst, formats=["html"])
    with django_capture_on_commit_callbacks(execute=True):
        services.report_enqueue(report=ready, user=analyst)
    draft = services.report_create(year=YEAR, language="en", user=analyst)

    # when someone not logged in opens the list and both versions
    listing = client.get("/reports/").content.decode()

    # then the ready one is listed, readable and downloadable; the draft is not
    assert f"/reports/{ready.pk}/" in listing and f"/reports/{draft.pk}/" not in listing
    assert client.get(f"/reports/{ready.pk}/").status_code == 200
    assert client.get(f"/reports/{ready.pk}/download/html/").status_code == 200
    assert client.get(f"/reports/{ready.pk}/download/pdf/").status_code == 404
    assert client.get(f"/reports/{draft.pk}/").status_code == 404


def test_a_narrative_with_a_control_character_is_refused_beside_its_field(scene, analyst, client):
    # given an analyst's draft
    client.force_login(analyst)
    report = services.report_create(year=YEAR, language="en", user=analyst)

    # when they paste a paragraph holding a control character (DOCX/XLSX cannot hold it: the build failed)
    response = client.post(f"/reports/{report.pk}/narrative/", {"summary": "Harvest\x0b held.", "country_kg": "Fine."})

    # then the page says which box and why, and no paragraph is written
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "summary" in errors and "U+000B" in errors["summary"][0]
    assert not report.narratives.exists()
