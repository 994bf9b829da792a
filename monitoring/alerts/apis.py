"""The alert engine's API: scores, alerts (with acknowledge/resolve), regional alerts, country status.

Everything here is derived from approved data only, so reading is public; acknowledging and resolving
need a login and are scoped by role in the services (`monitoring.permissions.can_manage_alerts`).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring.alerts import services
from monitoring.alerts.models import Alert, Level, Method, RegionalAlert, Score
from monitoring.alerts.selectors import alert_sentence, class_label, country_status_all, insufficient_label
from monitoring.periods import parse_period

# ------------------------------------------------------------------------------------------------ filters

MAX_ID = 2**63 - 1  # the largest id of a BigAutoField (settings.DEFAULT_AUTO_FIELD)


class PeriodFilterMixin(filters.FilterSet):
    period_from = filters.CharFilter(method="filter_period_from", label=gettext_lazy("from period (YYYY or YYYY-MM)"))
    period_to = filters.CharFilter(method="filter_period_to", label=gettext_lazy("to period (YYYY or YYYY-MM)"))

    def _start(self, name: str, value: str):
        try:
            return parse_period(value)
        except DjangoValidationError as error:
            raise ValidationError({name: error.messages}) from error

    def filter_period_from(self, queryset, name, value):
        return queryset.filter(period_start__gte=self._start(name, value).start)

    def filter_period_to(self, queryset, name, value):
        period = self._start(name, value)
        # A year includes its months: 'to 2021' keeps 2021-12.
        end = period.shift(1).start
        return queryset.filter(period_start__lt=end)


class SeriesFilterMixin(PeriodFilterMixin):
    country = filters.CharFilter(field_name="country__iso2", lookup_expr="iexact", label=gettext_lazy("country (ISO2)"))
    indicator = filters.CharFilter(
        field_name="indicator__code", lookup_expr="iexact", label=gettext_lazy("indicator code")
    )
    market = filters.CharFilter(method="filter_market", label=gettext_lazy("market code"))
    place = filters.CharFilter(field_name="place_key", label=gettext_lazy("place key ('' national)"))
    method = filters.ChoiceFilter(choices=Method.choices)
    level = filters.TypedChoiceFilter(choices=Level.choices, coerce=int)
    min_level = filters.NumberFilter(field_name="level", lookup_expr="gte")
    # A whole number within the id column's range: a larger one reached the database and failed (500).
    rule = filters.NumberFilter(field_name="rule_id", min_value=1, max_value=MAX_ID, decimal_places=0)

    def filter_market(self, queryset, name, value):
        return queryset.filter(place_key=f"market:{value}")


class ScoreFilter(SeriesFilterMixin):
    insufficient = filters.BooleanFilter(method="filter_insufficient", label=gettext_lazy("only unscored periods"))

    class Meta:
        model = Score
        fields: list[str] = []

    def filter_insufficient(self, queryset, name, value):
        return queryset.filter(score__isnull=value)


class AlertFilter(SeriesFilterMixin):
    status = filters.ChoiceFilter(choices=Alert.Status.choices)
    pillar = filters.CharFilter()

    class Meta:
        model = Alert
        fields: list[str] = []


class RegionalAlertFilter(PeriodFilterMixin):
    kind = filters.ChoiceFilter(choices=RegionalAlert.Kind.choices)
    indicator = filters.CharFilter(field_name="indicator__code", lookup_expr="iexact")
    status = filters.ChoiceFilter(choices=Alert.Status.choices)

    class Meta:
        model = RegionalAlert
        fields: list[str] = []


# -------------------------------------------------------------------------------------------- serializers


class ScoreSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.iso2")
    indicator = serializers.CharField(source="indicator.code")
    method_class_label = serializers.SerializerMethodField()
    insufficient_label = serializers.SerializerMethodField()

    class Meta:
        model = Score
        fields = [
            "id", "rule", "method", "indicator", "country", "place_key", "period", "period_start", "value",
            "score", "method_class", "method_class_label", "level", "insufficient_reason", "insufficient_label",
            "inputs",
        ]  # fmt: skip

    def get_method_class_label(self, obj: Score) -> str:
        return class_label(obj.method_class)

    def get_insufficient_label(self, obj: Score) -> str:
        return insufficient_label(obj.insufficient_reason) if obj.insufficient_reason else ""


class AlertSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.iso2")
    indicator = serializers.CharField(source="indicator.code")
    sentence = serializers.SerializerMethodField()
    method_class_label = serializers.SerializerMethodField()
    level_label = serializers.CharField(source="get_level_display")

    class Meta:
        model = Alert
        fields = [
            "id", "rule", "method", "method_class", "method_class_label", "level", "level_label", "score",
            "indicator", "pillar", "country", "place_key", "period", "period_start", "status", "sentence",
            "inputs", "raised_at", "acknowledged_at", "acknowledgement_note", "resolved_at", "resolution_note",
        ]  # fmt: skip

    def get_sentence(self, obj: Alert) -> str:
        return alert_sentence(obj)

    def get_method_class_label(self, obj: Alert) -> str:
        return class_label(obj.method_class)


class RegionalAlertSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.code")
    states = serializers.SlugRelatedField(slug_field="iso2", many=True, read_only=True)
    alerts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    sentence = serializers.SerializerMethodField()

    class Meta:
        model = RegionalAlert
        fields = ["id", "kind", "indicator", "period", "period_start", "score", "level", "status", "states", "alerts",
                  "sentence", "inputs"]  # fmt: skip

    def get_sentence(self, obj: RegionalAlert) -> str:
        return alert_sentence(obj)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=services.NOTE_MAX_LENGTH, allow_blank=True, required=False, default="")


# ---------------------------------------------------------------------------------------------- viewsets


class ScoreViewSet(viewsets.ReadOnlyModelViewSet):
    """Every scored period (normal ones too) and the periods that could not be scored, with the reason."""

    queryset = Score.objects.select_related("indicator", "country").order_by(
        "country__iso2", "indicator__code", "place_key", "rule_id", "period_start", "period"
    )
    serializer_class = ScoreSerializer
    filterset_class = ScoreFilter
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            return queryset.with_id(self.kwargs.get(self.lookup_field, ""))
        return queryset


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts with the method, its class, the unified level and a sentence in the active language."""

    queryset = Alert.objects.select_related("indicator", "country").order_by("-period_start", "-level", "id")
    serializer_class = AlertSerializer
    filterset_class = AlertFilter

    def get_permissions(self):
        if self.action in ("acknowledge", "resolve"):
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        note = self._note(request)
        alert = services.alert_acknowledge(alert=self.get_object(), user=request.user, note=note)
        return Response(AlertSerializer(alert, context={"request": request}).data)

    @extend_schema(request=NoteSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        note = self._note(request)
        alert = services.alert_resolve(alert=self.get_object(), user=request.user, note=note)
        return Response(AlertSerializer(alert, context={"request": request}).data)

    def _note(self, request) -> str:
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["note"]


class RegionalAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts for the five states together, naming the states behind them."""

    queryset = (
        RegionalAlert.objects.select_related("indicator")
        .prefetch_related("states", "alerts")
        .order_by("-period_start", "id")
    )
    serializer_class = RegionalAlertSerializer
    filterset_class = RegionalAlertFilter
    permission_classes = [permissions.AllowAny]


class CountryStatusSerializer(serializers.Serializer):
    overall = serializers.IntegerField(allow_null=True)
    pillars = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    period = serializers.CharField(allow_null=True)


class CountryStatusView(APIView):
    """For each state, the level per pillar and overall for the latest period (null: no data)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "CountryStatusResponse",
                fields={
                    "countries": serializers.DictField(child=CountryStatusSerializer()),
                    "levels": serializers.DictField(child=serializers.CharField()),
                    "note": serializers.CharField(),
                },
            )
        }
    )
    def get(self, request):
        status = country_status_all()
        levels = {str(level.value): str(level.label) for level in Level}
        return Response({"countries": status, "levels": levels, "note": _("null: no data or not enough to score")})
