"""The frozen data a summit report is built from.

`snapshot_take(year=...)` reads the approved national observations of the report year and the years
before it (for year-on-year change and charts), the year's scores and alerts, the regional alerts, the
alert rules in force and the completeness counts, and returns them as plain JSON with their database ids.
The report is then computed from this JSON only, so a rebuild from a stored snapshot gives the same
content even after the database has changed, and every number can be traced back to its row.
"""

import hashlib
import json
from collections import Counter
from typing import Any

from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring.alerts.models import Alert, AlertRule, RegionalAlert, Score
from monitoring.models import Indicator, Observation
from monitoring.selectors import completeness_for

SCHEMA_VERSION = 1
# Years before the report year kept in the snapshot: one for year-on-year change, the rest so a chart
# shows the year against its recent past.
HISTORY_YEARS = 4
# Languages whose alert sentences are frozen with the snapshot (the report's own language is added).
SENTENCE_LANGUAGES = ("en", "ru")

_INDICATOR_FIELDS = (
    "id",
    "code",
    "name_en",
    "name_ru",
    "description_en",
    "description_ru",
    "pillar",
    "category",
    "unit",
    "frequency",
    "direction",
    "source",
    "sdg_code",
    "commodity",
    "formula",
    "is_key",
    "sort_order",
)


def snapshot_take(*, year: int, language: str = "en") -> dict[str, Any]:
    """Freeze everything the report of `year` needs, as JSON-ready data (see the module docstring)."""
    first_year = year - HISTORY_YEARS
    countries = list(Country.objects.order_by("name_en").values("id", "iso2", "iso3", "name_en", "name_ru", "currency"))
    iso2_by_id = {country["id"]: country["iso2"] for country in countries}
    indicators = {
        row["code"]: row
        for row in Indicator.objects.order_by("pillar", "sort_order", "code").values(*_INDICATOR_FIELDS)
    }
    code_by_id = {row["id"]: code for code, row in indicators.items()}

    observations = [
        [obs_id, code_by_id[indicator_id], iso2_by_id[country_id], period, value, flag]
        for obs_id, indicator_id, country_id, period, value, flag in Observation.objects.approved()
        .national()
        .filter(period_start__year__gte=first_year, period_start__year__lte=year)
        .order_by("id")
        .values_list("id", "indicator_id", "country_id", "period", "value", "flag")
    ]

    # Completeness of the report year, with the data-entry pages' own definition (monitoring.selectors):
    # national periods of every entered indicator, counted per status.
    completeness = []
    for country in Country.objects.order_by("name_en"):
        for row in completeness_for(country, year).rows:
            by_status = Counter(cell.status for cell in row.cells if cell.status)
            completeness.extend(
                [country.iso2, row.indicator.code, status, number] for status, number in sorted(by_status.items())
            )
    approval = [
        [iso2_by_id[row["country_id"]], row["status"], row["rows"]]
        for row in Observation.objects.filter(period_start__year=year)
        .values("country_id", "status")
        .annotate(rows=Count("id"))
        .order_by("country_id", "status")
    ]

    score_rows = (
        Score.objects.filter(place_key="", period_start__year=year)
        .order_by("id")
        .values_list(
            "id", "method", "indicator_id", "country_id", "period", "score", "level", "method_class",
            "insufficient_reason",
        )
    )  # fmt: skip
    scores = [
        [score_id, method, code_by_id[indicator_id], iso2_by_id[country_id], period, score, level, method_class, reason]
        for score_id, method, indicator_id, country_id, period, score, level, method_class, reason in score_rows
    ]

    languages = sorted({*SENTENCE_LANGUAGES, language})
    alerts = [
        _alert_row(alert, iso2_by_id, code_by_id, languages)
        for alert in Alert.objects.filter(period_start__year=year).select_related("region", "market").order_by("id")
    ]
    regional_alerts = [
        {
            "id": regional.pk,
            "kind": regional.kind,
            "indicator": code_by_id[regional.indicator_id],
            "period": regional.period,
            "level": regional.level,
            "score": regional.score,
            "status": regional.status,
            "states": sorted(iso2_by_id[state.pk] for state in regional.states.all()),
            "inputs": regional.inputs,
        }
        for regional in RegionalAlert.objects.filter(period_start__year=year).prefetch_related("states").order_by("id")
    ]
    rules = [
        {
            "id": rule.pk,
            "name": rule.name,
            "method": rule.method,
            "parameters": rule.parameters,
            "place_scope": rule.place_scope,
            "indicators": sorted(code_by_id[indicator.pk] for indicator in rule.indicators.all()),
        }
        for rule in AlertRule.objects.active().prefetch_related("indicators").order_by("method", "name", "id")
    ]
    return {
        "schema": SCHEMA_VERSION,
        "year": year,
        "first_year": first_year,
        "taken_at": timezone.now().isoformat(),
        "countries": countries,
        "indicators": indicators,
        "observations": observations,
        "completeness": completeness,
        "approval": approval,
        "scores": scores,
        "alerts": alerts,
        "regional_alerts": regional_alerts,
        "rules": rules,
    }


def snapshot_fingerprint(snapshot: dict[str, Any]) -> str:
    """SHA-256 of the snapshot's content without its time stamp: equal data, equal fingerprint."""
    content = {key: value for key, value in snapshot.items() if key != "taken_at"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _alert_row(alert: Alert, iso2_by_id: dict, code_by_id: dict, languages: list[str]) -> dict[str, Any]:
    place = alert.market.name if alert.market_id else (alert.region.name_en if alert.region_id else "")
    sentences = {}
    for language in languages:
        with translation.override(language):
            sentences[language] = _alert_sentence(alert)
    return {
        "id": alert.pk,
        "method": alert.method,
        "indicator": code_by_id[alert.indicator_id],
        "pillar": alert.pillar,
        "country": iso2_by_id[alert.country_id],
        "place_key": alert.place_key,
        "place": place,
        "period": alert.period,
        "level": alert.level,
        "score": alert.score,
        "method_class": alert.method_class,
        "status": alert.status,
        "sentence": sentences,
    }


def _alert_sentence(alert: Alert) -> str:
    """The alert engine's own sentence when it is installed; otherwise a plain one from the alert's fields."""
    try:
        from monitoring.alerts.selectors import alert_sentence
    except ImportError:  # the alerts engineer's selector is not part of this build yet
        alert_sentence = None
    if alert_sentence is not None:
        return str(alert_sentence(alert))
    return _("%(indicator)s in %(country)s, %(period)s: %(level)s (%(method)s, score %(score)s).") % {
        "indicator": alert.indicator.name,
        "country": alert.country.name,
        "period": alert.period,
        "level": alert.get_level_display(),
        "method": alert.get_method_display(),
        "score": "–" if alert.score is None else f"{alert.score:.2f}",
    }
