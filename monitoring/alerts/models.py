"""Alert rules (data an analyst edits), every scored period, alerts and their lifecycle."""

import fnmatch

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from countries.models import Country, Market, Region
from monitoring.models import Indicator, Pillar


class Level(models.IntegerChoices):
    """The unified scale every method maps to (METHODS.md, 'Unified alert levels')."""

    NORMAL = 0, _("normal")
    WATCH = 1, _("watch")
    WARNING = 2, _("warning")
    EMERGENCY = 3, _("emergency")


class Method(models.TextChoices):
    IFPA = "ifpa", _("FAO Indicator of Food Price Anomalies (IFPA)")
    ALPS = "alps", _("WFP Alert for Price Spikes (ALPS)")
    BANDS = "bands", _("threshold bands")
    ZSCORE = "zscore", _("z-score against own history")
    MODIFIED_ZSCORE = "modified_zscore", _("modified z-score against own history")
    TREND = "trend", _("consecutive rise")


class AlertRuleQuerySet(models.QuerySet):
    def active(self) -> "AlertRuleQuerySet":
        return self.filter(is_active=True)


class AlertRule(models.Model):
    """Which method applies to which indicators and places, with its parameters (defaults: METHODS.md)."""

    class PlaceScope(models.TextChoices):
        NATIONAL = "national", _("national series only")
        SUBNATIONAL = "subnational", _("regions and markets only")
        ALL = "all", _("every place")

    name = models.CharField(_("name"), max_length=200)
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicators = models.ManyToManyField(Indicator, blank=True, related_name="alert_rules", verbose_name=_("indicators"))
    indicator_codes = models.CharField(
        _("indicator codes"),
        max_length=500,
        blank=True,
        help_text=_("Codes or patterns, comma separated (e.g. PRICE_*), in addition to the indicators chosen above."),
    )
    countries = models.ManyToManyField(
        Country, blank=True, related_name="alert_rules", verbose_name=_("countries"), help_text=_("Empty: all five.")
    )
    place_scope = models.CharField(_("places"), max_length=20, choices=PlaceScope.choices, default=PlaceScope.ALL)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[indicators, countries])
    objects = AlertRuleQuerySet.as_manager()

    class Meta:
        ordering = ["method", "name"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        return self.name

    def matches(self, code: str) -> bool:
        """Whether the rule applies to the indicator with this code through `indicator_codes`."""
        patterns = [pattern.strip() for pattern in self.indicator_codes.split(",") if pattern.strip()]
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in patterns)


class ScoreQuerySet(models.QuerySet):
    def scored(self) -> "ScoreQuerySet":
        return self.filter(score__isnull=False)


class Score(models.Model):
    """Every period a rule scored, normal ones too (so a chart can draw the IFPA or ALPS line), and the
    periods it could not score, with the reason."""

    # Scores are a derived table, rewritten in bulk by the engine from rows that are themselves checked;
    # no database-level foreign-key check per row (Django still cascades deletes), and no index per key:
    # the unique constraint (leading with the rule) and score_lookup (leading with the country) serve
    # every query, and each extra index would be maintained for millions of rows on a full recompute.
    rule = models.ForeignKey(
        AlertRule, on_delete=models.CASCADE, related_name="scores", db_constraint=False, db_index=False
    )
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="scores", db_constraint=False, db_index=False
    )
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="scores", db_constraint=False, db_index=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    market = models.ForeignKey(
        Market, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    value = models.FloatField(_("value scored"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    method_class = models.CharField(_("method's class"), max_length=40, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, null=True, blank=True)
    insufficient_reason = models.CharField(_("insufficient data"), max_length=200, blank=True)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    objects = ScoreQuerySet.as_manager()

    class Meta:
        ordering = ["country", "indicator", "place_key", "period_start"]
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "indicator", "country", "place_key", "period"], name="score_one_per_rule_place_period"
            )
        ]
        indexes = [models.Index(fields=["country", "indicator", "method", "period_start"], name="score_lookup")]

    def __str__(self) -> str:
        return f"{self.method} {self.indicator.code} {self.country.iso2} {self.place_key} {self.period}: {self.score}"


class SeriesState(models.Model):
    """The latest scored period of each series a rule scores (written by the engine, one row per series).

    The country status reads it: a series counts with its latest period's level, or as "insufficient"
    when the latest period could not be scored (too short, gap, zero variance, stale)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="series_states")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    pillar = models.CharField(_("pillar"), max_length=20, choices=Pillar.choices)
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="series_states")
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="")
    period = models.CharField(_("latest period"), max_length=7)
    period_start = models.DateField(_("latest period start"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, null=True, blank=True)
    insufficient_reason = models.CharField(_("insufficient data"), max_length=200, blank=True)
    scores_hash = models.CharField(
        _("fingerprint of the scores"),
        max_length=16,
        blank=True,
        help_text=_("Unchanged: the scores are not rewritten."),
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "pillar", "indicator", "place_key"]
        verbose_name = _("series state")
        verbose_name_plural = _("series states")
        constraints = [
            models.UniqueConstraint(fields=["rule", "indicator", "country", "place_key"], name="series_state_one")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.indicator_id} {self.country_id} {self.place_key} {self.period}: {self.level}"


class AlertQuerySet(models.QuerySet):
    def open(self) -> "AlertQuerySet":
        return self.exclude(status=Alert.Status.RESOLVED)

    def for_country(self, country: Country) -> "AlertQuerySet":
        return self.filter(country=country)

    def at_least(self, level: int) -> "AlertQuerySet":
        return self.filter(level__gte=level)


class Alert(models.Model):
    """One per rule, place, indicator and period; recomputing updates it, never duplicates it."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        RESOLVED = "resolved", _("resolved")

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="alerts")
    pillar = models.CharField(_("pillar"), max_length=20, choices=Pillar.choices)
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="alerts")
    region = models.ForeignKey(Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    score = models.FloatField(_("score"), null=True, blank=True)
    method_class = models.CharField(_("method's class"), max_length=40)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    message_params = models.JSONField(
        _("message parameters"), default=dict, blank=True, help_text=_("Rendered into a sentence per language.")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement_note = models.TextField(_("acknowledgement note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "-level", "country"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "indicator", "country", "place_key", "period"], name="alert_one_per_rule_place_period"
            )
        ]
        indexes = [models.Index(fields=["country", "status", "level"], name="alert_country_status")]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.indicator.code} {self.country.iso2} {self.place_key} {self.period}"


class AlertEvent(models.Model):
    """The lifecycle of an alert: raised, escalated, de-escalated, acknowledged, resolved, reopened."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("raised")
        ESCALATED = "escalated", _("escalated")
        DEESCALATED = "deescalated", _("de-escalated")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        RESOLVED = "resolved", _("resolved")
        REOPENED = "reopened", _("reopened")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_level = models.PositiveSmallIntegerField(_("from level"), choices=Level.choices, null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(_("to level"), choices=Level.choices, null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"


class RegionalAlert(models.Model):
    """An alert for the five states together: FAO's share rule on prices, or the regional cereal balance."""

    class Kind(models.TextChoices):
        PRICE_SHARE = "price_share", _("share of states with high food prices (FAO)")
        CEREAL_BALANCE = "cereal_balance", _("regional cereal balance")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="regional_alerts")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    score = models.FloatField(_("score"), null=True, blank=True, help_text=_("Share of states, or coverage ratio."))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    states = models.ManyToManyField(Country, related_name="regional_alerts", verbose_name=_("states behind it"))
    alerts = models.ManyToManyField(Alert, blank=True, related_name="regional_alerts")
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    message_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Alert.Status.choices, default=Alert.Status.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "kind"]
        verbose_name = _("regional alert")
        verbose_name_plural = _("regional alerts")
        constraints = [
            models.UniqueConstraint(fields=["kind", "indicator", "period"], name="regional_alert_one_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.indicator.code} {self.period}"
