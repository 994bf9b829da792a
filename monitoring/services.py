"""Every write of an observation and every change of its status, for every door.

Pages, the admin, the REST API and management commands call these functions; imports check the same
policy (`monitoring.permissions.can_enter`) and the same lock (`period_is_locked`). Each function runs in
one transaction, checks the country scope first, and writes the audit trail: a simple-history row per
changed observation with who (`history_user`), when (`history_date`), the values, and the door.

The workflow (DHIS2's data approval, per state and period):

    draft --submit--> submitted --approve--> approved (period locked)
      ^                   |                      |
      |                reject (reason)        reopen (reason, approver)
      +--- correct <-- rejected                  +--> draft

After an approval (and a reopening, which takes values out of the approved set) commits, the alert
engine recomputes the affected series.
"""

import math
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from countries.models import Country, Market, Region
from monitoring import periods, permissions
from monitoring.models import Indicator, Observation, PeriodApproval, place_key_for

Status = Observation.Status
# simple-history's change-reason column holds 100 characters; longer reasons stay whole on PeriodApproval.
_CHANGE_REASON_LENGTH = 100
_GIVEN_RELATIONS = ["indicator", "country", "region", "market", "import_batch", "created_by", "updated_by"]


def _is_system(user) -> bool:
    """`user=None` is the system itself (a management command run without --user)."""
    return user is None


def _check_enter(user, country: Country) -> None:
    if not _is_system(user) and not permissions.can_enter(user, country):
        raise PermissionDenied(_("You may not enter or submit values for %(country)s.") % {"country": country.name})


def _check_approve(user, country: Country) -> None:
    if not _is_system(user) and not permissions.can_approve(user, country):
        raise PermissionDenied(
            _("You may not approve, reject or reopen values of %(country)s.") % {"country": country.name}
        )


def _history_reason(text: str) -> str:
    return text[:_CHANGE_REASON_LENGTH]


def period_is_locked(*, country: Country | int, period: str) -> bool:
    """True when the state's period is approved: no value may be created or changed until reopened."""
    country_id = country if isinstance(country, int) else country.pk
    return PeriodApproval.objects.filter(
        country_id=country_id, period=period, status=PeriodApproval.Status.APPROVED
    ).exists()


def _locked_message(period: str) -> str:
    return _("The period %(period)s is approved and locked; ask the approver to reopen it.") % {"period": period}


def _checked_period(*, country: Country, indicator: Indicator, period: str, user) -> periods.Period:
    _check_enter(user, country)
    if indicator.is_derived:
        raise ValidationError(
            {
                "indicator": [
                    _("%(code)s is computed from other indicators and cannot be entered.") % {"code": indicator.code}
                ]
            }
        )
    try:
        parsed = periods.parse_period(period, indicator.frequency)
    except ValidationError as error:
        raise ValidationError({"period": error.messages}) from None
    if period_is_locked(country=country, period=parsed.text):
        raise ValidationError({"period": [_locked_message(parsed.text)]})
    return parsed


def _check_status(status: str | None, period: str) -> None:
    if status == Status.APPROVED:
        raise ValidationError({"value": [_locked_message(period)]})
    if status == Status.SUBMITTED:
        raise ValidationError(
            {"value": [_("This value is submitted and awaits the approver's decision; it cannot be changed now.")]}
        )


def observation_write_check(
    *, country: Country, indicator: Indicator, period: str, user, place_key: str = ""
) -> periods.Period:
    """Refuse (PermissionDenied or ValidationError naming the field) a value that may not be written now:
    another state's, a derived indicator's, a period of the wrong frequency, a locked period, a value
    awaiting approval. Returns the parsed period. The admin form asks this before saving."""
    parsed = _checked_period(country=country, indicator=indicator, period=period, user=user)
    status = (
        Observation.objects.filter(indicator=indicator, country=country, place_key=place_key, period=parsed.text)
        .values_list("status", flat=True)
        .first()
    )
    _check_status(status, parsed.text)
    return parsed


@transaction.atomic
def observation_record(
    *,
    country: Country,
    indicator: Indicator,
    period: str,
    value: float,
    user: AbstractBaseUser | None,
    door: str,
    region: Region | None = None,
    market: Market | None = None,
    flag: str = "",
    comment: str = "",
    source: str = "",
) -> Observation:
    """Create or change one value (as a draft). Refuses what `observation_write_check` refuses and a
    value outside the indicator's valid range. An unchanged value writes nothing."""
    place_key = place_key_for(region, market)
    parsed = _checked_period(country=country, indicator=indicator, period=period, user=user)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError({"value": [_("The value must be a number.")]})

    observation = (
        Observation.objects.select_for_update()
        .filter(indicator=indicator, country=country, place_key=place_key, period=parsed.text)
        .first()
    )
    _check_status(observation.status if observation else None, parsed.text)
    if observation is None:
        observation = Observation(
            indicator=indicator,
            country=country,
            region=region,
            market=market,
            period=parsed.text,
            created_by=user,
        )
    elif observation.value == float(value) and observation.flag == flag and observation.comment == comment:
        return observation

    observation.value = float(value)
    observation.flag = flag
    observation.comment = comment
    if source:
        observation.source = source
    # A corrected rejected value becomes a draft again; its rejection reason stays visible until it is resubmitted.
    observation.status = Status.DRAFT
    observation.updated_by = user
    # The related rows are given as instances: skip Django's per-foreign-key existence queries.
    observation.full_clean(exclude=_GIVEN_RELATIONS, validate_unique=False)
    observation._history_user = user
    observation._history_door = door
    observation.save()
    return observation


def _period_approval_set(
    *, country_id: int, period: str, status: str, user, door: str, reason: str = ""
) -> PeriodApproval:
    approval = PeriodApproval.objects.select_for_update().filter(country_id=country_id, period=period).first()
    if approval is None:
        approval = PeriodApproval(country_id=country_id, period=period, period_start=periods.parse_period(period).start)
    if approval.pk and approval.status == status and approval.reason == reason:
        return approval
    approval.status = status
    approval.reason = reason
    approval.updated_by = user
    approval._history_user = user
    approval._history_door = door
    approval._change_reason = _history_reason(reason)
    approval.save()
    return approval


def _change_status(
    observations: list[Observation],
    *,
    status: str,
    user,
    door: str,
    reason: str = "",
    rejection_reason: str | None = None,
) -> None:
    """Set the status of many values in two statements, with one history row each (who, when, door)."""
    now = timezone.now()
    fields = ["status", "updated_by", "updated_at"]
    for observation in observations:
        observation.status = status
        observation.updated_by = user
        observation.updated_at = now
        if rejection_reason is not None:
            observation.rejection_reason = rejection_reason
    if rejection_reason is not None:
        fields.append("rejection_reason")
    Observation.objects.bulk_update(observations, fields, batch_size=1000)
    Observation.history.bulk_history_create(
        observations,
        update=True,
        default_user=user,
        default_change_reason=_history_reason(reason or status),
        default_date=now,
        custom_historical_attrs={"door": door},
    )


def _load(observations: Iterable[Observation]) -> list[Observation]:
    ids = [observation.pk for observation in observations]
    return list(
        Observation.objects.select_for_update().filter(pk__in=ids).select_related("country", "indicator").order_by("pk")
    )


def _refuse_wrong_status(rows: list[Observation], allowed: set[str], action: str) -> None:
    wrong = [row for row in rows if row.status not in allowed]
    if wrong:
        raise ValidationError(
            {
                "status": [
                    _("Value %(id)s (%(code)s %(period)s) is %(status)s and cannot be %(action)s.")
                    % {
                        "id": row.pk,
                        "code": row.indicator.code,
                        "period": row.period,
                        "status": row.get_status_display(),
                        "action": action,
                    }
                    for row in wrong
                ]
            }
        )


def _pairs(rows: list[Observation]) -> set[tuple[int, str]]:
    return {(row.country_id, row.period) for row in rows}


@transaction.atomic
def observations_submit(*, observations: Iterable[Observation], user, door: str) -> int:
    """Send drafts and corrected rejections to the approver. All or nothing."""
    rows = _load(observations)
    for country in {row.country for row in rows}:
        _check_enter(user, country)
    _refuse_wrong_status(rows, {Status.DRAFT, Status.REJECTED}, _("submitted"))
    for country_id, period in _pairs(rows):
        if period_is_locked(country=country_id, period=period):
            raise ValidationError({"period": [_locked_message(period)]})
    _change_status(rows, status=Status.SUBMITTED, user=user, door=door, reason="submitted", rejection_reason="")
    for country_id, period in _pairs(rows):
        _period_approval_set(
            country_id=country_id, period=period, status=PeriodApproval.Status.SUBMITTED, user=user, door=door
        )
    return len(rows)


def _enqueue_recompute(observation_ids: list[int]) -> None:
    """After the commit, let the alert engine recompute the series these values belong to."""
    if not observation_ids:
        return
    from monitoring.alerts.tasks import recompute_observations  # here: the alert engine imports this module

    transaction.on_commit(lambda: recompute_observations.delay(observation_ids))


@transaction.atomic
def observations_approve(*, observations: Iterable[Observation], user, door: str) -> int:
    """Approve submitted values. A period whose values are then all approved is locked."""
    rows = _load(observations)
    for country in {row.country for row in rows}:
        _check_approve(user, country)
    _refuse_wrong_status(rows, {Status.SUBMITTED}, _("approved"))
    _change_status(rows, status=Status.APPROVED, user=user, door=door, reason="approved")
    for country_id, period in _pairs(rows):
        pending = Observation.objects.filter(country_id=country_id, period=period).exclude(status=Status.APPROVED)
        if not pending.exists():
            _period_approval_set(
                country_id=country_id, period=period, status=PeriodApproval.Status.APPROVED, user=user, door=door
            )
    _enqueue_recompute([row.pk for row in rows])
    return len(rows)


@transaction.atomic
def observations_reject(*, observations: Iterable[Observation], user, door: str, reason: str) -> int:
    """Send submitted values back to the clerk with the reason they will see beside each value."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the values are rejected: the clerk sees this reason.")]})
    rows = _load(observations)
    for country in {row.country for row in rows}:
        _check_approve(user, country)
    _refuse_wrong_status(rows, {Status.SUBMITTED}, _("rejected"))
    _change_status(rows, status=Status.REJECTED, user=user, door=door, reason=reason, rejection_reason=reason)
    for country_id, period in _pairs(rows):
        _period_approval_set(
            country_id=country_id,
            period=period,
            status=PeriodApproval.Status.REJECTED,
            user=user,
            door=door,
            reason=reason,
        )
    return len(rows)


def _period_observations(country: Country, period: str):
    return Observation.objects.filter(country=country, period=period).select_related("indicator", "country")


def period_submit(*, country: Country, period: str, user, door: str) -> int:
    """Submit every draft and corrected value of one state's period (the entry form's "Submit")."""
    _check_enter(user, country)
    rows = list(_period_observations(country, period).filter(status__in=[Status.DRAFT, Status.REJECTED]))
    if not rows:
        raise ValidationError({"period": [_("There is nothing to submit in %(period)s.") % {"period": period}]})
    return observations_submit(observations=rows, user=user, door=door)


def period_approve(*, country: Country, period: str, user, door: str) -> int:
    _check_approve(user, country)
    rows = list(_period_observations(country, period).filter(status=Status.SUBMITTED))
    if not rows:
        raise ValidationError({"period": [_("There is nothing submitted in %(period)s.") % {"period": period}]})
    return observations_approve(observations=rows, user=user, door=door)


def period_reject(*, country: Country, period: str, user, door: str, reason: str) -> int:
    _check_approve(user, country)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the values are rejected: the clerk sees this reason.")]})
    rows = list(_period_observations(country, period).filter(status=Status.SUBMITTED))
    if not rows:
        raise ValidationError({"period": [_("There is nothing submitted in %(period)s.") % {"period": period}]})
    return observations_reject(observations=rows, user=user, door=door, reason=reason)


@transaction.atomic
def period_reopen(*, country: Country, period: str, user, door: str, reason: str) -> int:
    """Unlock an approved period so its values can be corrected: approved values return to draft (and
    leave the approved set the alerts use). The reopening, its reason and who did it are recorded."""
    _check_approve(user, country)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the period is reopened; the reason is recorded.")]})
    try:
        period = periods.parse_period(period).text
    except ValidationError as error:
        raise ValidationError({"period": error.messages}) from None
    approval = PeriodApproval.objects.filter(country=country, period=period).first()
    rows = list(_period_observations(country, period).filter(status=Status.APPROVED).select_for_update())
    if (approval is None or not approval.is_locked) and not rows:
        raise ValidationError({"period": [_("The period %(period)s is not approved.") % {"period": period}]})
    _change_status(
        rows, status=Status.DRAFT, user=user, door=door, reason=_("reopened: %(reason)s") % {"reason": reason}
    )
    _period_approval_set(
        country_id=country.pk, period=period, status=PeriodApproval.Status.OPEN, user=user, door=door, reason=reason
    )
    _enqueue_recompute([row.pk for row in rows])
    return len(rows)
