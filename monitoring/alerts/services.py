"""Every write of the alert engine: computing scores and alerts, and the alert lifecycle.

The Celery tasks, the `compute_alerts` command, the API and the admin all call these functions, so the
rules (who may acknowledge, what a recompute changes) live in one place.
"""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring import permissions
from monitoring.alerts import engine
from monitoring.alerts.engine import ComputeSummary, SeriesKey
from monitoring.alerts.models import Alert, AlertEvent
from monitoring.models import Observation
from monitoring.periods import parse_period

NOTE_MAX_LENGTH = 2000


def alerts_compute(
    *,
    country: Country | str | None = None,
    since: str | None = None,
    series: Iterable[SeriesKey] | None = None,
    as_of: date | None = None,
    notify: bool = True,
    regional_since: date | None = None,
) -> ComputeSummary:
    """Score every active rule over approved observations and converge scores, alerts and statuses.

    `country` (a Country or its ISO2 code) and `series` ((country_id, indicator_id, place_key) keys,
    place_key None for every place) narrow what is recomputed; `since` ('YYYY', 'YYYY-MM' ...) limits the
    periods whose alerts are re-evaluated (a recomputed series' scores are rewritten whole: one row). Safe
    to run twice: every write converges on a natural key, so a second run changes nothing."""
    country_obj = None
    if isinstance(country, str):
        country_obj = Country.objects.filter(iso2=country.upper()).first()
        if country_obj is None:
            raise ValidationError(_("Unknown country “%(code)s”."), params={"code": country})
    elif country is not None:
        country_obj = country
    since_start = parse_period(since).start if since else None
    return engine.compute(
        country_id=country_obj.pk if country_obj else None,
        since=since_start,
        series=list(series) if series is not None else None,
        as_of=as_of or timezone.localdate(),
        notify=notify,
        regional_since=regional_since,
    )


def alerts_recompute_for_observations(*, observation_ids: list[int], as_of: date | None = None) -> dict:
    """Recompute only the series these observations belong to (and what reads them: derived indicators
    and the regional rules). Observations that no longer exist are ignored (the task may run late)."""
    rows = list(
        Observation.objects.filter(pk__in=observation_ids).values_list(
            "country_id", "indicator_id", "place_key", "period_start"
        )
    )
    if not rows:
        return ComputeSummary().as_dict()
    keys = {(country_id, indicator_id, place_key) for country_id, indicator_id, place_key, _ in rows}
    first_changed = min(period_start for *_, period_start in rows)
    summary = alerts_compute(series=sorted(keys), as_of=as_of, regional_since=first_changed)
    return summary.as_dict()


def _check_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError({"note": [_("The note is longer than %(max)s characters.") % {"max": NOTE_MAX_LENGTH}]})
    return note


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user, note: str) -> Alert:
    """Someone responsible has seen the alert and says what is being done."""
    if not permissions.can_manage_alerts(user, alert.country_id):
        raise PermissionDenied(_("You may not acknowledge alerts of this country."))
    note = _check_note(note)
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != Alert.Status.OPEN:
        raise ValidationError(
            {
                "status": [
                    _("Only an open alert can be acknowledged; this one is %(status)s.")
                    % {"status": alert.get_status_display()}
                ]
            }
        )
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.acknowledgement_note = note
    alert.full_clean()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledgement_note", "updated_at"])
    AlertEvent.objects.create(
        alert=alert,
        kind=AlertEvent.Kind.ACKNOWLEDGED,
        from_level=alert.level,
        to_level=alert.level,
        user=user,
        note=note,
    )
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, user, note: str) -> Alert:
    """Close an alert by hand (the engine also resolves it when the condition clears)."""
    if not permissions.can_manage_alerts(user, alert.country_id):
        raise PermissionDenied(_("You may not resolve alerts of this country."))
    note = _check_note(note)
    if not note:
        raise ValidationError({"note": [_("Say why the alert is resolved.")]})
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == Alert.Status.RESOLVED:
        raise ValidationError({"status": [_("The alert is already resolved.")]})
    alert.status = Alert.Status.RESOLVED
    alert.resolved_by = user
    alert.resolved_at = timezone.now()
    alert.resolution_note = note
    alert.full_clean()
    alert.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note", "updated_at"])
    AlertEvent.objects.create(
        alert=alert, kind=AlertEvent.Kind.RESOLVED, from_level=alert.level, to_level=alert.level, user=user, note=note
    )
    return alert
