"""The indicator catalogue, the observations ministries report, and the record of every import."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.dispatch import receiver
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from countries.models import Country, LocalizedNameMixin, Market, Region
from monitoring import periods
from monitoring.formulas import parse_formula


class Pillar(models.TextChoices):
    """FAO's four dimensions of food security."""

    AVAILABILITY = "availability", _("availability")
    ACCESS = "access", _("access")
    UTILISATION = "utilisation", _("utilisation")
    STABILITY = "stability", _("stability")


class Frequency(models.TextChoices):
    MONTHLY = periods.MONTHLY, _("monthly")
    QUARTERLY = periods.QUARTERLY, _("quarterly")
    ANNUAL = periods.ANNUAL, _("annual")


class IndicatorQuerySet(models.QuerySet):
    def derived(self) -> "IndicatorQuerySet":
        return self.exclude(formula="")

    def entered(self) -> "IndicatorQuerySet":
        return self.filter(formula="")

    def prices(self) -> "IndicatorQuerySet":
        return self.filter(category=Indicator.Category.PRICE)


class Indicator(LocalizedNameMixin, models.Model):
    class Direction(models.TextChoices):
        HIGHER_IS_WORSE = "higher_worse", _("higher is worse")
        HIGHER_IS_BETTER = "higher_better", _("higher is better")
        NEUTRAL = "neutral", _("neither")

    class Category(models.TextChoices):
        NUTRITION = "nutrition", _("nutrition and hunger")
        PRODUCTION = "production", _("production")
        TRADE = "trade", _("trade")
        STOCKS = "stocks", _("stocks")
        PRICE = "price", _("retail price")
        MACRO = "macro", _("macroeconomic")
        SUPPLY = "supply", _("supply and balance")
        DEMOGRAPHY = "demography", _("population")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_ru = models.TextField(_("description (Russian)"), blank=True)
    pillar = models.CharField(_("pillar"), max_length=20, choices=Pillar.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    unit = models.CharField(_("unit"), max_length=40, help_text=_("For prices: per unit, in local currency."))
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    direction = models.CharField(
        _("direction"), max_length=20, choices=Direction.choices, default=Direction.HIGHER_IS_WORSE
    )
    valid_min = models.FloatField(_("lowest valid value"), null=True, blank=True)
    valid_max = models.FloatField(_("highest valid value"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    sdg_code = models.CharField(_("SDG or FAO code"), max_length=100, blank=True)
    commodity = models.CharField(_("commodity"), max_length=60, blank=True)
    formula = models.CharField(
        _("formula"),
        max_length=300,
        blank=True,
        help_text=_("For derived indicators: arithmetic over other indicator codes. Leave empty when entered."),
    )
    is_key = models.BooleanField(_("key indicator"), default=False, help_text=_("Shown first on dashboards."))
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        ordering = ["pillar", "sort_order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_min__isnull=True)
                | models.Q(valid_max__isnull=True)
                | models.Q(valid_max__gte=models.F("valid_min")),
                name="indicator_valid_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"

    @property
    def description(self) -> str:
        language = (get_language() or "en")[:2]
        return getattr(self, f"description_{language}", "") or self.description_en

    @property
    def is_derived(self) -> bool:
        return bool(self.formula)

    def clean(self) -> None:
        if self.formula:
            parse_formula(self.formula)

    def range_error(self, value: float) -> str | None:
        """The reason `value` is outside this indicator's valid range, or None."""
        if self.valid_min is not None and value < self.valid_min:
            return _("%(value)s is below the lowest valid value %(min)s %(unit)s.") % {
                "value": value,
                "min": self.valid_min,
                "unit": self.unit,
            }
        if self.valid_max is not None and value > self.valid_max:
            return _("%(value)s is above the highest valid value %(max)s %(unit)s.") % {
                "value": value,
                "max": self.valid_max,
                "unit": self.unit,
            }
        return None


class Door(models.TextChoices):
    """Through which door a change came; written on every history row."""

    PAGE = "page", _("page")
    ADMIN = "admin", _("admin")
    API = "api", _("API")
    IMPORT = "import", _("import")
    COMMAND = "command", _("command line")


class ImportBatch(models.Model):
    """One upload or command-line import: what came in, by whom, and what it did."""

    class Format(models.TextChoices):
        TEMPLATE = "template", _("our template (CSV or XLSX)")
        SDG = "sdg", _("UN SDG / Open SDG / SDMX")
        WFP = "wfp", _("WFP market prices")
        FAOSTAT = "faostat", _("FAOSTAT bulk")

    class Status(models.TextChoices):
        IMPORTED = "imported", _("imported")
        REFUSED = "refused", _("refused")
        DRY_RUN = "dry_run", _("checked (dry run)")

    file_name = models.CharField(_("file name"), max_length=255)
    file_hash = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    door = models.CharField(_("door"), max_length=20, choices=Door.choices, default=Door.COMMAND)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_created = models.PositiveIntegerField(_("rows created"), default=0)
    rows_updated = models.PositiveIntegerField(_("rows updated"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("rows unchanged"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    errors = models.JSONField(
        _("errors"), default=list, blank=True, help_text=_("One entry per refused cell: row, column, value, reason.")
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()}, {self.created_at:%Y-%m-%d %H:%M})"


class AuditDoor(models.Model):
    """Extra column on every history row: through which door the change came.

    Services set `instance._history_door` (beside `instance._history_user`) before saving; the receiver
    at the end of this module copies it onto the history row. Bulk writers (imports) set `door` on the
    history rows they bulk-create themselves."""

    door = models.CharField(_("door"), max_length=20, blank=True, default="", choices=Door.choices)

    class Meta:
        abstract = True


class ObservationQuerySet(models.QuerySet):
    def approved(self) -> "ObservationQuerySet":
        return self.filter(status=Observation.Status.APPROVED)

    def for_country(self, country: Country) -> "ObservationQuerySet":
        return self.filter(country=country)

    def national(self) -> "ObservationQuerySet":
        return self.filter(place_key="")

    def in_period_range(self, start: str | None = None, end: str | None = None) -> "ObservationQuerySet":
        queryset = self
        if start:
            queryset = queryset.filter(period_start__gte=periods.parse_period(start).start)
        if end:
            queryset = queryset.filter(period_start__lte=periods.parse_period(end).start)
        return queryset


def place_key_for(region: Region | None = None, market: Market | None = None) -> str:
    """The natural key of a place within a country: '' national, the ISO 3166-2 code for a region,
    'market:<code>' for a market. Unique constraints use it because SQL treats NULLs as distinct."""
    if market is not None:
        return f"market:{market.code}"
    if region is not None:
        return region.code
    return ""


class Observation(models.Model):
    """One value of one indicator for one place and period. Exactly one per indicator, place and period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    class Flag(models.TextChoices):
        """Values published as bounds keep the bound and the flag, never the bound as if measured."""

        MEASURED = "", _("measured")
        BELOW = "<", _("below the value (published as “<”)")
        ABOVE = ">", _("above the value (published as “>”)")
        ESTIMATED = "E", _("estimated")

    # Every index costs each bulk import, so only those that queries use are kept: the unique constraint
    # leads with the indicator, obs_country_indicator_start with the country; no query filters on the
    # other keys alone. The audit pointers (import batch, created by, updated by) carry no database
    # foreign-key check: Django sets them to NULL when their row is deleted.
    # Indicator, country, region and market are the data's integrity, and the database checks them, but
    # once per statement instead of once per row: a row-level foreign key is a deferred trigger per row
    # (about 14 s of a million-row import), while the triggers of migration 0008 check all the rows a
    # statement wrote in one anti-join, and refuse the deletion of a referenced place or indicator.
    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="observations", db_index=False, db_constraint=False
    )
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    market = models.ForeignKey(
        Market,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="", editable=False)
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"), editable=False)
    value = models.FloatField(_("value"))
    flag = models.CharField(_("flag"), max_length=1, choices=Flag.choices, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(_("source"), max_length=200, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    import_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="observations",
        db_index=False,
        db_constraint=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        bases=[AuditDoor],
        excluded_fields=["updated_at"],
        no_db_index=["indicator", "country", "region", "market", "import_batch", "created_by", "updated_by"],
        # An audit pointer like created_by: no deferred foreign-key trigger per history row of an import.
        user_db_constraint=False,
    )
    objects = ObservationQuerySet.as_manager()

    class Meta:
        ordering = ["country", "indicator", "place_key", "period_start"]
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "country", "place_key", "period"], name="observation_one_value_per_place_period"
            ),
        ]
        indexes = [
            models.Index(fields=["country", "indicator", "period_start"], name="obs_country_indicator_start"),
            # The workflow's queues (drafts, submitted, rejected of a country) are the selective status
            # queries; approved values, nearly all rows, are read through the index above. Indexing only
            # the rows in the workflow keeps a bulk load of published (approved) data from paying for it.
            models.Index(
                fields=["country", "status"], condition=~models.Q(status="approved"), name="obs_workflow_country"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.country.iso2} {self.place_key or '-'} {self.period} = {self.value}"

    @property
    def display_value(self) -> str:
        return f"{self.flag if self.flag in '<>' else ''}{self.value:g}"

    def clean(self) -> None:
        errors = {}
        # Without an indicator (a form whose indicator field was refused reports that itself) the period's
        # frequency and the value's range cannot be checked; reading `self.indicator` would raise (a 500).
        frequency = self.indicator.frequency if self.indicator_id is not None else None
        try:
            parsed = periods.parse_period(self.period, frequency)
            self.period = parsed.text
            self.period_start = parsed.start
        except ValidationError as error:
            errors["period"] = error.messages
        if self.region_id and self.region.country_id != self.country_id:
            errors["region"] = [_("The region is not in this country.")]
        if self.market_id and self.market.country_id != self.country_id:
            errors["market"] = [_("The market is not in this country.")]
        if (
            self.value is not None
            and self.indicator_id is not None
            and (reason := self.indicator.range_error(self.value))
        ):
            errors["value"] = [reason]
        if errors:
            raise ValidationError(errors)
        self.place_key = place_key_for(self.region, self.market)


class PeriodApprovalQuerySet(models.QuerySet):
    def for_country(self, country: Country) -> "PeriodApprovalQuerySet":
        return self.filter(country=country)

    def locked(self) -> "PeriodApprovalQuerySet":
        return self.filter(status=PeriodApproval.Status.APPROVED)


class PeriodApproval(models.Model):
    """Where one state's period stands in the approval workflow (DHIS2's data approval per period).

    An approved period is locked: no value of that state and period may be created or changed until an
    approver reopens it. Every transition (who, when, reason, door) is kept in `history`, so a reopening
    is recorded like every other step."""

    class Status(models.TextChoices):
        OPEN = "open", _("open for entry")
        SUBMITTED = "submitted", _("submitted for approval")
        REJECTED = "rejected", _("rejected")
        APPROVED = "approved", _("approved and locked")

    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="period_approvals")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why the period was rejected or reopened."))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[AuditDoor])
    objects = PeriodApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["country", "-period_start", "period"]
        verbose_name = _("period approval")
        verbose_name_plural = _("period approvals")
        constraints = [
            models.UniqueConstraint(fields=["country", "period"], name="period_approval_one_per_country_period"),
        ]

    def __str__(self) -> str:
        return f"{self.country.iso2} {self.period}: {self.get_status_display()}"

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.APPROVED


@receiver(pre_create_historical_record)
def _history_door_from_instance(sender, instance, history_instance, **kwargs) -> None:
    """Copy the door a service set on the instance onto its history row (see `AuditDoor`)."""
    if isinstance(history_instance, AuditDoor):
        history_instance.door = getattr(instance, "_history_door", "") or history_instance.door or ""
