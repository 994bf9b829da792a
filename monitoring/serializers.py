"""API input and output shapes. Input serializers only parse and resolve codes to rows; every rule about
what may be written lives in `monitoring.services`."""

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from countries.models import Country, Market, Region
from monitoring import periods
from monitoring.models import ImportBatch, Indicator, Observation, PeriodApproval


class StrictFloatField(serializers.FloatField):
    """A JSON number, never a string or a boolean ("12" or true are wrong types, not numbers)."""

    default_error_messages = {"invalid": _("A number is required (not text, true/false or null).")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if not math.isfinite(data):
            self.fail("invalid")
        return float(data)


class CodeRelatedField(serializers.SlugRelatedField):
    """A related row named by its code; an unknown code is refused with the code in the message."""

    default_error_messages = {
        "does_not_exist": _("Unknown code “{value}”."),
        "invalid": _("A code (text) is required."),
        "null_characters": _("A code cannot contain a null character."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:  # PostgreSQL refuses it in a query (a 500); no code holds one
            self.fail("null_characters")
        # A list of rows names the same few codes again and again: look each up once per request.
        cache = self.context.get("code_cache")
        key = (self.field_name, data.strip())
        if cache is not None and key in cache:
            return cache[key]
        found = self._look_up(data.strip())
        if cache is not None:
            cache[key] = found
        return found

    def _look_up(self, code: str):
        return super().to_internal_value(code)


class CountryCodeField(CodeRelatedField):
    """ISO alpha-2, alpha-3 or M49 code of one of the five states."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Country.objects.all())
        super().__init__(slug_field="iso2", **kwargs)

    def _look_up(self, code: str):
        country = Country.objects.by_code(code).first()
        if country is None:
            self.fail("does_not_exist", slug_name="code", value=code)
        return country


class CountrySerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Country
        fields = ["iso2", "iso3", "m49", "name", "name_en", "name_ru", "name_local", "currency", "faostat_code"]


class RegionSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(slug_field="iso2", read_only=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Region
        fields = ["code", "pcode", "country", "name", "name_en", "name_ru", "type", "valid_from", "valid_to"]


class MarketSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(slug_field="iso2", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Market
        fields = ["code", "country", "region", "name", "name_ru", "latitude", "longitude"]


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)

    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "name_en",
            "name_ru",
            "description",
            "pillar",
            "category",
            "unit",
            "frequency",
            "direction",
            "valid_min",
            "valid_max",
            "source",
            "sdg_code",
            "commodity",
            "formula",
            "is_key",
        ]


class ObservationSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(slug_field="iso2", read_only=True)
    indicator = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    market = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Observation
        fields = [
            "id",
            "country",
            "indicator",
            "region",
            "market",
            "place_key",
            "period",
            "period_start",
            "value",
            "flag",
            "status",
            "source",
            "comment",
            "rejection_reason",
            "updated_at",
        ]
        read_only_fields = fields


class ObservationInputSerializer(serializers.Serializer):
    """One row of a create-or-update list. The natural key is (country, indicator, region/market, period)."""

    country = CountryCodeField()
    indicator = CodeRelatedField(slug_field="code", queryset=Indicator.objects.all())
    period = serializers.CharField(max_length=7)
    value = StrictFloatField()
    region = CodeRelatedField(slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True)
    market = serializers.CharField(max_length=60, required=False, allow_blank=True, allow_null=True)
    flag = serializers.ChoiceField(choices=Observation.Flag.choices, required=False, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate_period(self, value: str) -> str:
        if periods.frequency_of(value.strip()) is None:
            raise serializers.ValidationError(_("Write the period as YYYY, YYYY-Qn or YYYY-MM."))
        return value.strip()

    def validate(self, attrs: dict) -> dict:
        code = attrs.get("market")
        attrs["market"] = None
        if code:
            market = Market.objects.filter(country=attrs["country"], code=code).first()
            if market is None:
                raise serializers.ValidationError(
                    {"market": [_("Unknown market “%(code)s” in this country.") % {"code": code}]}
                )
            attrs["market"] = market
        return attrs


class ObservationIdsSerializer(serializers.Serializer):
    """Which values an action applies to: a list of ids, or one state's whole period."""

    # Ids within the id column's range (BigAutoField): a larger one reached the database and failed (500).
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=10000
    )
    country = CountryCodeField(required=False)
    period = serializers.CharField(required=False, max_length=7)

    def validate(self, attrs: dict) -> dict:
        by_ids = "ids" in attrs
        by_period = "country" in attrs and "period" in attrs
        if by_ids == by_period:
            raise serializers.ValidationError(_("Give either “ids”, or “country” and “period”."))
        if by_period:
            try:
                attrs["period"] = periods.parse_period(attrs["period"]).text
            except DjangoValidationError as error:
                raise serializers.ValidationError({"period": error.messages})
        return attrs


class RejectSerializer(ObservationIdsSerializer):
    reason = serializers.CharField(max_length=2000)


class ReopenSerializer(serializers.Serializer):
    country = CountryCodeField()
    period = serializers.CharField(max_length=7)
    reason = serializers.CharField(max_length=2000)


class PeriodApprovalSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(slug_field="iso2", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PeriodApproval
        fields = ["country", "period", "period_start", "status", "reason", "updated_by", "updated_at"]
        read_only_fields = fields


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "file_name",
            "file_hash",
            "format",
            "status",
            "door",
            "created_by",
            "created_at",
            "rows_read",
            "rows_created",
            "rows_updated",
            "rows_unchanged",
            "rows_rejected",
            "errors",
        ]
        read_only_fields = fields


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text=_("How many values changed status."))
