"""Alert rules (data an analyst edits), every scored period, alerts and their lifecycle."""

import fnmatch
import json
from datetime import date

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


# On PostgreSQL a list of texts is stored as one text: each element preceded by the separator, NULL as the
# marker (PostgreSQL parsed the 7 million text elements of a full recompute one by one: half a second of
# its time); the score view splits them again (migration 0015). The engine refuses a text holding either.
TEXT_LIST_SEPARATOR = "\x1f"  # ASCII's unit separator
TEXT_LIST_NULL = "\x1e"  # ASCII's record separator


class ValueListField(models.Field):
    """A list of values of one type: a PostgreSQL array, JSON text elsewhere (SQLite). The engine writes a
    series' periods as parallel lists in one row (see `ScoreSeries`)."""

    def __init__(self, *args, element_type: str = "text", **kwargs):
        self.element_type = element_type  # a PostgreSQL type name: text, date, float8, int2
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["element_type"] = self.element_type
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        return f"{self.element_type}[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        items = json.loads(value)
        if self.element_type == "date":
            return [None if item is None else date.fromisoformat(item) for item in items]
        return items

    def get_prep_value(self, value):
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or connection.vendor == "postgresql":
            return value
        return json.dumps([item.isoformat() if isinstance(item, date) else item for item in value])


class TextListField(ValueListField):
    """A list of texts: on PostgreSQL one text, each element preceded by `TEXT_LIST_SEPARATOR` (NULL:
    `TEXT_LIST_NULL`); JSON text elsewhere (SQLite)."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("element_type", None)
        super().__init__(*args, element_type="text", **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["element_type"]
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        return "text"

    def from_db_value(self, value, expression, connection):
        if value == "":  # an empty list
            return []
        if isinstance(value, str) and value.startswith(TEXT_LIST_SEPARATOR):
            return [None if item == TEXT_LIST_NULL else item for item in value[1:].split(TEXT_LIST_SEPARATOR)]
        return super().from_db_value(value, expression, connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        return "".join(TEXT_LIST_SEPARATOR + (TEXT_LIST_NULL if item is None else item) for item in value)


class ScoreSeries(models.Model):
    """The scores of one series (one rule, indicator, state and place), every period in one row of parallel
    lists. A full recompute writes one row per series instead of one per period (8,400 rows where a
    million monthly prices give 2.4 million scored periods): most of what a first full recompute saves.
    `Score` reads them back a period per row."""

    # A derived table rewritten in bulk by the engine: no database-level foreign-key check per row (Django
    # still cascades deletes).
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="score_series", db_constraint=False)
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="score_series", db_constraint=False, db_index=False
    )
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="score_series", db_constraint=False, db_index=False
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    market = models.ForeignKey(
        Market, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_constraint=False, db_index=False
    )
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="")
    periods = TextListField(_("periods"))
    period_starts = ValueListField(_("period starts"), element_type="date")
    scored_values = ValueListField(_("values scored"), element_type="float8")
    scores = ValueListField(_("scores"), element_type="float8")
    method_classes = TextListField(_("method's classes"))
    levels = ValueListField(_("levels"), element_type="int2")
    insufficient_reasons = TextListField(_("insufficient data"))
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    fingerprint = models.CharField(
        _("fingerprint of the scores"), max_length=16, blank=True, help_text=_("Unchanged: the row is not rewritten.")
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["country", "indicator", "place_key", "rule"]
        verbose_name = _("scored series")
        verbose_name_plural = _("scored series")
        constraints = [
            models.UniqueConstraint(fields=["rule", "indicator", "country", "place_key"], name="score_series_one")
        ]
        indexes = [models.Index(fields=["country", "indicator", "method"], name="score_series_lookup")]

    def __str__(self) -> str:
        return f"{self.method} {self.indicator_id} {self.country_id} {self.place_key}"


# A score's id is its series' id times this, plus the period's position in the series (migration 0010).
SCORE_IDS_PER_SERIES = 100_000


class ScoreQuerySet(models.QuerySet):
    def scored(self) -> "ScoreQuerySet":
        return self.filter(score__isnull=False)

    def with_id(self, pk) -> "ScoreQuerySet":
        """The score with this id, found through its series' row (the view's id has no index)."""
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return self.none()
        return self.filter(series_id=pk // SCORE_IDS_PER_SERIES, pk=pk)


class Score(models.Model):
    """Every period a rule scored, normal ones too (so a chart can draw the IFPA or ALPS line), and the
    periods it could not score, with the reason.

    A read-only database view that unfolds `ScoreSeries` a period per row (PostgreSQL's unnest, SQLite's
    json_each; migration 0010). The engine writes the series; the id is the series' id x 100,000 plus the
    period's position, stable as long as the series is not rewritten."""

    # The view cannot be deleted from: the series rows carry the cascades.
    rule = models.ForeignKey(AlertRule, on_delete=models.DO_NOTHING, related_name="scores", db_constraint=False)
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicator = models.ForeignKey(Indicator, on_delete=models.DO_NOTHING, related_name="scores", db_constraint=False)
    country = models.ForeignKey(Country, on_delete=models.DO_NOTHING, related_name="scores", db_constraint=False)
    region = models.ForeignKey(
        Region, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_constraint=False
    )
    market = models.ForeignKey(
        Market, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_constraint=False
    )
    series = models.ForeignKey(ScoreSeries, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    place_key = models.CharField(_("place key"), max_length=80, blank=True, default="")
    period = models.CharField(_("period"), max_length=7)
    period_start = models.DateField(_("period start"))
    value = models.FloatField(_("value scored"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    method_class = models.CharField(_("method's class"), max_length=40, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, null=True, blank=True)
    insufficient_reason = models.CharField(_("insufficient data"), max_length=200, blank=True)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    computed_at = models.DateTimeField()

    objects = ScoreQuerySet.as_manager()

    class Meta:
        managed = False  # the view `alerts_score`
        ordering = ["country", "indicator", "place_key", "period_start"]
        verbose_name = _("score")
        verbose_name_plural = _("scores")

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

    # The engine bulk-writes alerts from rows it has just read in the same transaction: no database-level
    # foreign-key check per row (a first run raised 88,949 alerts on a million prices in the benchmark, and
    # the deferred checks cost seconds at commit; Django still cascades deletes), and no index per key where the unique
    # constraint (leading with the rule) or alert_country_status (leading with the country) serves.
    rule = models.ForeignKey(
        AlertRule, on_delete=models.CASCADE, related_name="alerts", db_constraint=False, db_index=False
    )
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="alerts", db_constraint=False)
    pillar = models.CharField(_("pillar"), max_length=20, choices=Pillar.choices)
    country = models.ForeignKey(
        Country, on_delete=models.CASCADE, related_name="alerts", db_constraint=False, db_index=False
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
    # Set by a person on a few alerts, by the lifecycle services: no index and no database check (PostgreSQL
    # queues a deferred check for every row the engine inserts, even a NULL one; a user's deletion sets them
    # to NULL through Django, scanning the table).
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False, db_constraint=False,
    )  # fmt: skip
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement_note = models.TextField(_("acknowledgement note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_index=False, db_constraint=False,
    )  # fmt: skip
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

    # Written with their alert, by the engine (from the alert rows themselves) or a lifecycle service (on
    # the alert it holds): no deferred check per event at commit.
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events", db_constraint=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_level = models.PositiveSmallIntegerField(_("from level"), choices=Level.choices, null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(_("to level"), choices=Level.choices, null=True, blank=True)
    user = models.ForeignKey(  # a person's acknowledgement or resolution; most events are the engine's
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_index=False,
        db_constraint=False,
    )  # fmt: skip
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
