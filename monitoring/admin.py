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
    list_display = ["file_name", "format", "status", "door", "created_by", "created_at", "rows_read", "rows_rejected"]
    list_filter = ["format", "status", "door"]
    search_fields = ["file_name", "file_hash"]
    readonly_fields = [field.name for field in ImportBatch._meta.fields]


# --- Observation: owned by the data-entry work (country scope, history) ---
@admin.register(Observation)
class ObservationAdmin(SimpleHistoryAdmin):
    list_display = ["indicator", "country", "place_key", "period", "value", "flag", "status", "updated_at"]
    list_filter = ["status", "country", "indicator__pillar", "indicator"]
    search_fields = ["indicator__code", "period", "place_key"]
    raw_id_fields = ["import_batch"]
    autocomplete_fields = ["indicator", "region", "market"]
