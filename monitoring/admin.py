from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from monitoring.models import ImportBatch, Indicator, Observation


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "pillar", "category", "unit", "frequency", "direction", "is_key"]
    list_filter = ["pillar", "category", "frequency", "direction", "is_key"]
    search_fields = ["code", "name_en", "name_ru", "sdg_code", "commodity"]


# --- ImportBatch: owned by the imports work (upload page, template download) ---
@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    """Imports are records: read-only, created only through the upload page (the import service)."""

    list_display = ["file_name", "format", "status", "door", "created_by", "created_at", "rows_read", "rows_rejected"]
    list_filter = ["format", "status", "door"]
    search_fields = ["file_name", "file_hash"]
    readonly_fields = [field.name for field in ImportBatch._meta.fields]
    change_list_template = "admin/imports/importbatch_change_list.html"
    change_form_template = "admin/imports/importbatch_change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        from django.urls import path

        from monitoring.imports import admin_views

        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path("upload/", wrap(lambda request: admin_views.import_upload_view(request, self)), name="import_upload"),
            path("<int:pk>/report.csv", wrap(admin_views.import_report_csv_view), name="import_report_csv"),
            path(
                "template.<str:extension>",
                wrap(admin_views.import_template_view),
                name="import_template",
            ),
            *super().get_urls(),
        ]


# --- Observation: owned by the data-entry work (country scope, history) ---
@admin.register(Observation)
class ObservationAdmin(SimpleHistoryAdmin):
    list_display = ["indicator", "country", "place_key", "period", "value", "flag", "status", "updated_at"]
    list_filter = ["status", "country", "indicator__pillar", "indicator"]
    search_fields = ["indicator__code", "period", "place_key"]
    raw_id_fields = ["import_batch"]
    autocomplete_fields = ["indicator", "region", "market"]
