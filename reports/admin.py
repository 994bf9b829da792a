from django.contrib import admin

from reports.models import ReportNarrative, SummitReport


class ReportNarrativeInline(admin.StackedInline):
    model = ReportNarrative
    extra = 0
    readonly_fields = ["section", "country", "text", "updated_by", "updated_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # narrative is written on the report page, through the service


@admin.register(SummitReport)
class SummitReportAdmin(admin.ModelAdmin):
    """Read-only: versions are built by the service (page, command, task), never edited by hand."""

    list_display = ["year", "language", "version", "status", "progress", "is_current", "built_by", "finished_at"]
    list_filter = ["status", "language", "year", "is_current"]
    inlines = [ReportNarrativeInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
