"""The admin's import door: upload a file, see the per-row report, download it as CSV, download the
template (CSV or XLSX). Views only parse, call the import service and render."""

import io
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from monitoring import permissions
from monitoring.imports.service import import_observations_file, import_report_csv
from monitoring.imports.template import TEMPLATE_COLUMNS, template_frame
from monitoring.models import Door, ImportBatch, Indicator

# The report shows this many errors on screen; the CSV has every stored one.
ERRORS_ON_SCREEN = 500
UPLOAD_SUFFIXES = {".csv", ".txt", ".xlsx", ".xml"}


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy("CSV, XLSX or SDMX-XML."))
    file_format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ImportBatch.Format.choices)
    dry_run = forms.BooleanField(
        label=gettext_lazy("Check only (dry run): validate and count, write nothing"), required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv, .xlsx or .xml file."))
        return upload


def _check_may_import(request: HttpRequest) -> None:
    if not permissions.countries_enterable(request.user):
        raise PermissionDenied(_("Only data clerks and administrators may import values."))


def import_upload_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    _check_may_import(request)
    batch = None
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            with tempfile.TemporaryDirectory() as directory:
                path = Path(directory) / f"upload{Path(upload.name).suffix.lower()}"
                with open(path, "wb") as handle:
                    for chunk in upload.chunks():
                        handle.write(chunk)
                batch = import_observations_file(
                    path=path,
                    file_format=form.cleaned_data["file_format"],
                    user=request.user,
                    door=Door.ADMIN,
                    dry_run=form.cleaned_data["dry_run"],
                    file_name=Path(upload.name).name,
                )
    else:
        form = ImportUploadForm()
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Import observations"),
        "form": form,
        "batch": batch,
        "errors_on_screen": (batch.errors[:ERRORS_ON_SCREEN] if batch else []),
        "errors_hidden": max(len(batch.errors) - ERRORS_ON_SCREEN, 0) if batch else 0,
        "skipped": sorted(batch.skipped.items()) if batch else [],
        "template_columns": TEMPLATE_COLUMNS,
    }
    return TemplateResponse(request, "admin/imports/upload.html", context)


def import_report_csv_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    if not (permissions.is_administrator(request.user) or batch.created_by_id == request.user.pk):
        raise PermissionDenied(_("Only the person who imported the file, or an administrator, may read its report."))
    response = HttpResponse(import_report_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.csv"'
    return response


def import_template_view(request: HttpRequest, extension: str) -> HttpResponse:
    """The template with example rows; the XLSX adds a sheet listing the indicator codes."""
    frame = template_frame()
    if extension == "csv":
        response = HttpResponse(frame.to_csv(index=False), content_type="text/csv; charset=utf-8")
    else:
        buffer = io.BytesIO()
        indicators = [
            (item.code, item.name_en, item.name_ru, item.unit, item.frequency)
            for item in Indicator.objects.entered().order_by("code")
        ]
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "observations"
        sheet.append(TEMPLATE_COLUMNS)
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
        catalogue = book.create_sheet("indicators")
        catalogue.append(["code", "name_en", "name_ru", "unit", "frequency"])
        for row in indicators:
            catalogue.append(list(row))
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="observations-template.{extension}"'
    return response
