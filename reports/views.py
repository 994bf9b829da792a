"""The report pages: list and request versions, follow a build, write the narrative, download files.
Views parse, call one service and render; rules live in `reports.services`."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from monitoring.permissions import is_analyst
from reports import services
from reports.forms import NarrativeForm, NewVersionForm, ReportRequestForm
from reports.models import SummitReport
from reports.renderers.html import body_of
from reports.selectors import reports_visible_to

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


def _visible_report(request: HttpRequest, report_id: int) -> SummitReport:
    return get_object_or_404(reports_visible_to(request.user), pk=report_id)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_http_methods(["GET", "POST"])
def report_list(request: HttpRequest) -> HttpResponse:
    form = ReportRequestForm(request.POST or None)
    if request.method == "POST":
        if not is_analyst(request.user):
            raise PermissionDenied(_("Only regional analysts build summit reports."))
        if form.is_valid():
            try:
                report = services.report_create(
                    year=form.cleaned_data["year"],
                    language=form.cleaned_data["language"],
                    formats=form.cleaned_data["formats"],
                    user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, _("Version %(version)s created: write the narrative, then build it.") % {
                    "version": report.version})  # fmt: skip
                return redirect("reports:detail", report_id=report.pk)
    reports = reports_visible_to(request.user)
    return render(
        request,
        "reports/list.html",
        {"reports": reports, "form": form, "can_build": is_analyst(request.user)},
        status=400 if form.errors else 200,
    )


@require_GET
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _visible_report(request, report_id)
    body = ""
    if report.status == SummitReport.Status.READY and report.html_file:
        with report.html_file.open("rb") as handle:
            # Our own template's output (autoescaped when it was rendered), stored with the version.
            body = body_of(handle.read().decode("utf-8"))
    return render(
        request,
        "reports/detail.html",
        {
            "report": report,
            "body": body,
            "can_build": is_analyst(request.user),
            "new_version_form": NewVersionForm(),
            "in_progress": report.status in (SummitReport.Status.QUEUED, SummitReport.Status.BUILDING),
        },
    )


@require_GET
def report_progress(request: HttpRequest, report_id: int) -> JsonResponse:
    report = _visible_report(request, report_id)
    return JsonResponse(
        {
            "id": report.pk,
            "status": report.status,
            "status_label": report.get_status_display(),
            "progress": report.progress,
            "failure_reason": report.failure_reason,
            "files": {
                code: reverse("reports:download", args=[report.pk, code]) for code, _file in report.available_files
            },
        }
    )


@login_required
@require_POST
def report_build_view(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _visible_report(request, report_id)
    try:
        services.report_enqueue(report=report, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    return redirect("reports:detail", report_id=report.pk)


@login_required
@require_POST
def report_new_version(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _visible_report(request, report_id)
    form = NewVersionForm(request.POST)
    reuse = form.is_valid() and form.cleaned_data["reuse_snapshot"]
    try:
        new_report = services.report_create(
            year=report.year,
            language=report.language,
            formats=report.formats,
            user=request.user,
            snapshot_from=report if reuse else None,
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("reports:detail", report_id=report.pk)
    return redirect("reports:detail", report_id=new_report.pk)


@login_required
@require_http_methods(["GET", "POST"])
def report_narrative(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _visible_report(request, report_id)
    if not is_analyst(request.user):
        raise PermissionDenied(_("Only regional analysts write the report's narrative."))
    form = NarrativeForm(request.POST or None, report=report)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():  # all paragraphs or none
                for name, section, country in form.targets:
                    services.report_narrative_save(
                        report=report, section=section, country=country, text=form.cleaned_data[name],
                        user=request.user,
                    )  # fmt: skip
        except ValidationError as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, _("The narrative is saved with version %(version)s.") % {
                "version": report.version})  # fmt: skip
            return redirect("reports:detail", report_id=report.pk)
    return render(
        request, "reports/narrative.html", {"report": report, "form": form}, status=400 if form.errors else 200
    )


@require_GET
def report_download(request: HttpRequest, report_id: int, file_format: str) -> FileResponse:
    report = _visible_report(request, report_id)
    stored = report.file_for(file_format) if file_format in CONTENT_TYPES else None
    if stored is None:
        raise Http404(_("This version has no %(format)s file.") % {"format": file_format.upper()})
    name = f"summit-report-{report.year}-{report.language}-v{report.version}.{file_format}"
    return FileResponse(
        stored.open("rb"),
        as_attachment=file_format != "html",
        filename=name,
        content_type=CONTENT_TYPES[file_format],
    )
