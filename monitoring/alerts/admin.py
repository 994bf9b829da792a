"""Admin for regional analysts: alert rules (with history), and read-only views of scores and alerts."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from monitoring import permissions
from monitoring.admin import HistoryAdmin
from monitoring.alerts.models import Alert, AlertEvent, AlertRule, RegionalAlert, Score
from monitoring.alerts.selectors import alert_sentence


@admin.register(AlertRule)
class AlertRuleAdmin(HistoryAdmin):
    list_display = ["name", "method", "indicator_codes", "place_scope", "is_active", "updated_at"]
    list_filter = ["method", "is_active", "place_scope"]
    search_fields = ["name", "indicator_codes", "notes"]
    filter_horizontal = ["indicators", "countries"]
    fieldsets = [
        (None, {"fields": ["name", "method", "is_active", "notes"]}),
        (_("What it applies to"), {"fields": ["indicators", "indicator_codes", "countries", "place_scope"]}),
        (
            _("Parameters"),
            {"fields": ["parameters"], "description": _("Defaults and sources: see /alerts/methodology/.")},
        ),
    ]

    def has_module_permission(self, request) -> bool:
        return permissions.is_analyst(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.is_analyst(request.user)

    def has_add_permission(self, request) -> bool:
        return permissions.is_analyst(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return permissions.is_analyst(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return permissions.is_administrator(request.user)

    def save_model(self, request, obj, form, change) -> None:
        if not isinstance(obj.parameters, dict):
            raise ValidationError(_("Parameters must be a JSON object."))
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Scores and alerts are written by the engine and the lifecycle services only."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return permissions.is_analyst(request.user)

    def has_module_permission(self, request) -> bool:
        return permissions.is_analyst(request.user)


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "indicator",
        "country",
        "place_key",
        "period",
        "method",
        "score",
        "method_class",
        "level",
        "insufficient_reason",
    ]
    list_filter = ["method", "level", "country", "insufficient_reason"]
    search_fields = ["indicator__code", "place_key", "period"]
    list_select_related = ["indicator", "country"]

    def get_object(self, request, object_id, from_field=None):
        """Through the score's series row: the view's id has no index."""
        return self.get_queryset(request).with_id(object_id).first()


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "from_level", "to_level", "user", "note", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["sentence", "level", "status", "method", "country", "period"]
    list_filter = ["status", "level", "method", "country", "pillar"]
    search_fields = ["indicator__code", "place_key", "period"]
    list_select_related = ["indicator", "country"]
    inlines = [AlertEventInline]

    @admin.display(description=_("alert"))
    def sentence(self, obj: Alert) -> str:
        return alert_sentence(obj)


@admin.register(RegionalAlert)
class RegionalAlertAdmin(ReadOnlyAdmin):
    list_display = ["sentence", "kind", "level", "status", "period"]
    list_filter = ["kind", "level", "status"]

    @admin.display(description=_("regional alert"))
    def sentence(self, obj: RegionalAlert) -> str:
        return alert_sentence(obj)
