"""The REST API of the catalogue, the observations and their approval (`/api/v1/`).

Thin views: a serializer parses, one service writes, a serializer answers. Reads go through
`monitoring.selectors`, so the API shows exactly what the pages show to the same person. Anonymous
users read approved data only. Every error has the one shape of `config.exceptions`.
"""

import django_filters
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import ApplicationError
from countries.models import Country, Market, Region
from monitoring import periods, selectors, services
from monitoring.models import Door, Indicator, Observation, place_key_for
from monitoring.serializers import (
    CountrySerializer,
    CountSerializer,
    ImportBatchSerializer,
    IndicatorSerializer,
    MarketSerializer,
    ObservationIdsSerializer,
    ObservationInputSerializer,
    ObservationSerializer,
    PeriodApprovalSerializer,
    RegionSerializer,
    RejectSerializer,
    ReopenSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)

# The API writes value by value through the service (~100-150 values/s measured); bigger loads belong to
# the import, which validates a whole file and bulk-writes it.
MAX_BULK_ROWS = 5000


class ApiMixin:
    # Token first, so a request without credentials is answered 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticatedOrReadOnly]


def _validation_details(error: ValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in error.error_dict.items()}
    return {"non_field_errors": error.messages}


# --- reference data ------------------------------------------------------------------------------------


class CountryViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CountrySerializer
    queryset = Country.objects.all()
    lookup_field = "iso2"
    lookup_value_regex = "[A-Za-z]{2}"
    pagination_class = None

    def get_object(self):
        self.kwargs["iso2"] = self.kwargs["iso2"].upper()
        return super().get_object()


class CountryFilterMixin(django_filters.FilterSet):
    country = django_filters.CharFilter(method="filter_country", help_text="ISO alpha-2 or alpha-3 code")

    def filter_country(self, queryset, name, value):
        country = Country.objects.by_code(value).first()
        if country is None:
            raise exceptions.ValidationError({"country": [_("Unknown country “%(code)s”.") % {"code": value}]})
        return queryset.filter(country=country)


class RegionFilter(CountryFilterMixin):
    class Meta:
        model = Region
        fields = ["country", "type"]


class RegionViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    queryset = Region.objects.select_related("country")
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9-]+"
    filterset_class = RegionFilter


class MarketFilter(CountryFilterMixin):
    class Meta:
        model = Market
        fields = ["country"]


class MarketViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MarketSerializer
    queryset = Market.objects.select_related("country", "region")
    filterset_class = MarketFilter


class IndicatorViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = IndicatorSerializer
    queryset = Indicator.objects.all()
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_]+"
    filterset_fields = ["pillar", "category", "frequency", "is_key"]
    pagination_class = None


# --- observations ----------------------------------------------------------------------------------------


class ObservationFilter(CountryFilterMixin):
    indicator = django_filters.CharFilter(method="filter_indicator", help_text="indicator code, e.g. POU")
    period_from = django_filters.CharFilter(method="filter_period_from", help_text="YYYY, YYYY-Qn or YYYY-MM")
    period_to = django_filters.CharFilter(method="filter_period_to", help_text="YYYY, YYYY-Qn or YYYY-MM")
    status = django_filters.ChoiceFilter(choices=Observation.Status.choices)
    place = django_filters.CharFilter(field_name="place_key", help_text="'' national, region code, market:<code>")

    class Meta:
        model = Observation
        fields = ["country", "indicator", "status", "period_from", "period_to", "place"]

    def filter_indicator(self, queryset, name, value):
        if not Indicator.objects.filter(code=value).exists():
            raise exceptions.ValidationError({"indicator": [_("Unknown indicator “%(code)s”.") % {"code": value}]})
        return queryset.filter(indicator__code=value)

    def _period(self, name: str, value: str) -> periods.Period:
        try:
            return periods.parse_period(value)
        except ValidationError as error:
            raise exceptions.ValidationError({name: error.messages}) from None

    def filter_period_from(self, queryset, name, value):
        return queryset.filter(period_start__gte=self._period(name, value).start)

    def filter_period_to(self, queryset, name, value):
        return queryset.filter(period_start__lte=self._period(name, value).start)


class ObservationViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Values of the five states. `POST` creates or updates a list of values (all or nothing); the
    actions submit, approve and reject values by id or by state and period."""

    serializer_class = ObservationSerializer
    filterset_class = ObservationFilter

    def get_queryset(self):
        return selectors.observations_visible(self.request.user)

    @extend_schema(
        request=ObservationInputSerializer(many=True),
        responses={
            200: inline_serializer(
                "ObservationWriteResult",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(),
                    "results": ObservationSerializer(many=True),
                },
            )
        },
    )
    def create(self, request, *args, **kwargs):
        rows = request.data if isinstance(request.data, list) else [request.data]
        if not rows or not all(isinstance(row, dict) for row in rows):
            raise ApplicationError(_("Send one value (a JSON object) or a list of values."), {"rows": []})
        if len(rows) > MAX_BULK_ROWS:
            raise ApplicationError(
                _("At most %(max)s values per request; send a file to the import for more.") % {"max": MAX_BULK_ROWS},
                {"rows": []},
            )
        parsed, errors = [], []
        context = {"request": request, "code_cache": {}}
        for index, row in enumerate(rows):
            serializer = ObservationInputSerializer(data=row, context=context)
            if serializer.is_valid():
                parsed.append(serializer.validated_data)
            else:
                errors.extend(_row_errors(index, serializer.errors))
        if errors:
            raise _bulk_refusal(errors)
        return Response(_record_all(parsed, user=request.user))

    def _act(self, request, serializer_class, by_ids, by_period, **extra):
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        extra = {name: data[name] for name in extra}
        if "ids" in data:
            found = {row.pk: row for row in self.get_queryset().filter(pk__in=data["ids"])}
            unknown = [pk for pk in data["ids"] if pk not in found]
            if unknown:
                raise ApplicationError(
                    _("Unknown values: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}, {"ids": unknown}
                )
            count = by_ids(observations=list(found.values()), user=request.user, door=Door.API, **extra)
        else:
            count = by_period(country=data["country"], period=data["period"], user=request.user, door=Door.API, **extra)
        return Response({"count": count})

    @extend_schema(
        request=ObservationIdsSerializer,
        responses={200: CountSerializer},
    )
    @action(detail=False, methods=["post"])
    def submit(self, request):
        """Send drafts (and corrected rejections) to the approver."""
        return self._act(request, ObservationIdsSerializer, services.observations_submit, services.period_submit)

    @extend_schema(
        request=ObservationIdsSerializer,
        responses={200: CountSerializer},
    )
    @action(detail=False, methods=["post"])
    def approve(self, request):
        """Approve submitted values; a period whose values are all approved is locked."""
        return self._act(request, ObservationIdsSerializer, services.observations_approve, services.period_approve)

    @extend_schema(request=RejectSerializer, responses={200: CountSerializer})
    @action(detail=False, methods=["post"])
    def reject(self, request):
        """Send submitted values back to the clerk with a reason."""
        return self._act(request, RejectSerializer, services.observations_reject, services.period_reject, reason=True)


def _row_errors(index: int, errors: dict) -> list[dict]:
    rows = []
    for field_name, messages in errors.items():
        if isinstance(messages, dict):  # a nested error, e.g. {"market": [...]} from validate()
            rows.extend(_row_errors(index, messages))
            continue
        for message in messages if isinstance(messages, list) else [messages]:
            rows.append({"index": index, "field": field_name, "message": str(message)})
    return rows


def _bulk_refusal(errors: list[dict]) -> ApplicationError:
    first = errors[0]
    return ApplicationError(
        _("Nothing was written: row %(index)s, field “%(field)s”: %(message)s")
        % {"index": first["index"], "field": first["field"], "message": first["message"]},
        {"rows": errors},
    )


def _record_all(rows: list[dict], *, user) -> dict:
    """Write every row through the service in one transaction; one refused row writes nothing."""
    keys = {
        (row["indicator"].pk, row["country"].pk, place_key_for(row.get("region"), row["market"]), row["period"])
        for row in rows
    }
    before = {
        (o.indicator_id, o.country_id, o.place_key, o.period): (o.value, o.flag, o.comment)
        for o in Observation.objects.filter(
            country_id__in={key[1] for key in keys},
            indicator_id__in={key[0] for key in keys},
            period__in={key[3] for key in keys},
        )
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    results, errors = [], []
    with transaction.atomic():
        for index, row in enumerate(rows):
            try:
                observation = services.observation_record(
                    country=row["country"],
                    indicator=row["indicator"],
                    period=row["period"],
                    value=row["value"],
                    region=row.get("region"),
                    market=row["market"],
                    flag=row["flag"],
                    comment=row["comment"],
                    source=row["source"],
                    user=user,
                    door=Door.API,
                )
            except PermissionDenied as error:
                raise exceptions.PermissionDenied(
                    _("Nothing was written: row %(index)s: %(reason)s") % {"index": index, "reason": error}
                ) from None
            except ValidationError as error:
                errors.extend(_row_errors(index, _validation_details(error)))
                continue
            key = (observation.indicator_id, observation.country_id, observation.place_key, observation.period)
            if key not in before:
                counts["created"] += 1
            elif before[key] == (observation.value, observation.flag, observation.comment):
                counts["unchanged"] += 1
            else:
                counts["updated"] += 1
            results.append(observation)
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise _bulk_refusal(errors)
    return {**counts, "results": ObservationSerializer(results, many=True).data}


class PeriodApprovalViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Where each state's periods stand in the approval workflow (within the user's scope)."""

    serializer_class = PeriodApprovalSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = None

    def get_queryset(self):
        queryset = selectors.period_approvals_visible(self.request.user)
        if code := self.request.query_params.get("country"):
            queryset = queryset.filter(country__in=Country.objects.by_code(code))
        return queryset

    @extend_schema(request=ReopenSerializer, responses={200: CountSerializer})
    @action(detail=False, methods=["post"])
    def reopen(self, request):
        """Unlock an approved period (approvers); the reopening and its reason are recorded."""
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.period_reopen(**serializer.validated_data, user=request.user, door=Door.API)
        return Response({"count": count})


class ImportBatchViewSet(ApiMixin, viewsets.ReadOnlyModelViewSet):
    """Imports: what came in, by whom, and every refused row (analysts: all; others: their states')."""

    serializer_class = ImportBatchSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["format", "status", "door"]

    def get_queryset(self):
        return selectors.import_batches_visible(self.request.user)


class TokenObtainApi(APIView):
    """Exchange a username and password for the API token (`Authorization: Token <token>`)."""

    # Token authentication named here only so a refusal is a 401 with `WWW-Authenticate: Token`.
    authentication_classes = [TokenAuthentication]
    permission_classes: list = []

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer})
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request, username=serializer.validated_data["username"], password=serializer.validated_data["password"]
        )
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Unable to log in with the username and password given."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key}, status=status.HTTP_200_OK)


def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """The one error shape for an address under /api/ that does not exist (mounted last in config/urls)."""
    return JsonResponse(
        {"error": {"code": "not_found", "message": _("There is no API endpoint at this address."), "details": {}}},
        status=404,
    )
