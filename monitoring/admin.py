from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from countries.models import Country
from monitoring import permissions
from monitoring import services as observation_services
from monitoring.models import Door, ImportBatch, Indicator, Observation, PeriodApproval, place_key_for

MAX_ID = 2**63 - 1  # the largest id of a BigAutoField (settings.DEFAULT_AUTO_FIELD)


def _is_id(value) -> bool:
    """A whole number within the id column's range, as written in an address or a form."""
    text = str(value)
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def _ids_or_404(*ids: str) -> None:
    """An id in an admin address that is no id: a 404."""
    if not all(_is_id(value) for value in ids):
        raise Http404


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's history pages look up the ids in the address as written, so `abc/history/`
    raised a ValueError (a 500); here they answer 404, as the admin's own change page does."""

    def history_view(self, request, object_id, extra_context=None):
        _ids_or_404(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        _ids_or_404(object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class CheckedAutocompleteSelect(AutocompleteSelect):
    """Redraws a refused form without looking up a posted id that is no id: Django's widget filters the
    table by the value as written, so `indicator=abc` raised a ValueError (a 500) instead of showing
    the field's own "Select a valid choice" error. (Our autocomplete fields all point to integer ids.)"""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [posted for posted in value if _is_id(posted)], attr)


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
class ObservationAdminForm(forms.ModelForm):
    """Asks the same check as every other door before the admin saves through the service."""

    class Meta:
        model = Observation
        fields = ["indicator", "country", "region", "market", "period", "value", "flag", "comment", "source"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self):
        cleaned = super().clean()
        existing = self.instance if self.instance.pk else None  # on change the natural key is read-only
        country = cleaned.get("country") or (existing.country if existing else None)
        indicator = cleaned.get("indicator") or (existing.indicator if existing else None)
        period = cleaned.get("period") or (existing.period if existing else None)
        region = existing.region if existing else cleaned.get("region")
        market = existing.market if existing else cleaned.get("market")
        if self.request is not None and country and indicator and period:
            try:
                observation_services.observation_write_check(
                    country=country,
                    indicator=indicator,
                    period=period,
                    user=self.request.user,
                    place_key=place_key_for(region, market),
                )
            except DjangoPermissionDenied as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


@admin.register(Observation)
class ObservationAdmin(HistoryAdmin):
    """Country-scoped: a user sees approved values and the unapproved ones of their states, changes only
    their states' open values, and every save goes through `observation_record` (door "admin")."""

    form = ObservationAdminForm
    list_display = ["indicator", "country", "place_key", "period", "value", "flag", "status", "updated_at"]
    list_filter = ["status", "country", "indicator__pillar", "indicator"]
    search_fields = ["indicator__code", "period", "place_key"]
    autocomplete_fields = ["indicator", "region", "market"]
    readonly_fields = ["status", "rejection_reason", "import_batch", "created_by", "updated_by"]
    actions = ["submit_selected", "approve_selected"]

    def get_queryset(self, request):
        return permissions.visible_observations(request.user, super().get_queryset(request))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form_class):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, request=request, **form_kwargs)

        return ScopedForm

    def get_readonly_fields(self, request, obj=None):
        natural_key = ["indicator", "country", "region", "market", "period"] if obj is not None else []
        return [*natural_key, *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = CheckedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        if db_field.name == "country":
            kwargs["queryset"] = Country.objects.filter(pk__in=permissions.countries_enterable(request.user))
        elif db_field.name == "indicator":
            kwargs["queryset"] = Indicator.objects.entered()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return obj.status == Observation.Status.APPROVED or permissions.can_read_unapproved(request.user, obj.country)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and bool(permissions.countries_enterable(request.user))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed and bool(permissions.countries_enterable(request.user))
        return (
            permissions.can_enter(request.user, obj.country)
            and obj.status in (Observation.Status.DRAFT, Observation.Status.REJECTED)
            and not observation_services.period_is_locked(country=obj.country, period=obj.period)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and permissions.is_administrator(request.user)

    def revert_disabled(self, request, obj=None):
        return True  # a revert would bypass the service; change the value instead

    def history_view(self, request, object_id, extra_context=None):
        _ids_or_404(object_id)
        observation = Observation.objects.filter(pk=object_id).select_related("country").first()
        if observation is not None and not permissions.can_read_unapproved(request.user, observation.country):
            raise DjangoPermissionDenied
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise DjangoPermissionDenied
        _ids_or_404(object_id, version_id)
        observation = Observation.objects.filter(pk=object_id).select_related("country").first()
        if observation is not None and not permissions.can_read_unapproved(request.user, observation.country):
            raise DjangoPermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        saved = observation_services.observation_record(
            country=obj.country,
            indicator=obj.indicator,
            period=obj.period,
            value=obj.value,
            region=obj.region,
            market=obj.market,
            flag=obj.flag,
            comment=obj.comment,
            source=obj.source,
            user=request.user,
            door=Door.ADMIN,
        )
        obj.pk = saved.pk
        obj.status = saved.status

    def delete_model(self, request, obj):
        obj._history_user = request.user
        obj._history_door = Door.ADMIN
        super().delete_model(request, obj)

    def _run(self, request, service, queryset, done_message: str) -> None:
        try:
            count = service(observations=list(queryset), user=request.user, door=Door.ADMIN)
        except (ValidationError, DjangoPermissionDenied) as error:
            self.message_user(request, " ".join(getattr(error, "messages", [str(error)])), level=messages.ERROR)
            return
        self.message_user(request, done_message % {"count": count}, level=messages.SUCCESS)

    @admin.action(description=_("Submit the selected values for approval"))
    def submit_selected(self, request, queryset):
        self._run(request, observation_services.observations_submit, queryset, _("%(count)s value(s) submitted."))

    @admin.action(description=_("Approve the selected submitted values"))
    def approve_selected(self, request, queryset):
        self._run(request, observation_services.observations_approve, queryset, _("%(count)s value(s) approved."))


@admin.register(PeriodApproval)
class PeriodApprovalAdmin(HistoryAdmin):
    """Read-only here: periods change state through the entry pages and the API (services)."""

    list_display = ["country", "period", "status", "reason", "updated_by", "updated_at"]
    list_filter = ["status", "country"]
    search_fields = ["period", "reason"]

    def get_queryset(self, request):
        readable = permissions.countries_readable_unapproved(request.user)
        return super().get_queryset(request).filter(country_id__in=readable)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def revert_disabled(self, request, obj=None):
        return True
