"""Data-entry pages (`/entry/`): choose a state and period, enter values, submit, approve or reject,
reopen, read a value's history, and the completeness report. Views parse, call a service, render."""

import math
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from countries.models import Country
from monitoring import periods, permissions, selectors, services
from monitoring.forms import PeriodEntryForm, ReasonForm
from monitoring.models import Door, Indicator, Observation, PeriodApproval, Pillar

Status = Observation.Status
# How many earlier periods the form shows beside each field, and how far back the period selector goes.
PREVIOUS_PERIODS = 3
SELECTOR_MONTHS = 36
SELECTOR_YEARS = 15


def _entry_user(request: HttpRequest) -> None:
    if not permissions.can_use_entry(request.user):
        raise PermissionDenied(_("Data entry is for ministry clerks, approvers and analysts."))


def _country_in_scope(request: HttpRequest, iso2: str) -> Country:
    country = get_object_or_404(Country, iso2=iso2.upper())
    if not permissions.can_read_unapproved(request.user, country):
        raise PermissionDenied(_("You may not open the data entry of %(country)s.") % {"country": country.name})
    return country


def _period_choices(frequency: str, today: date) -> list[periods.Period]:
    latest = periods.period_from_date(frequency, today)
    count = SELECTOR_YEARS if frequency == periods.ANNUAL else SELECTOR_MONTHS
    return [latest.shift(-step) for step in range(count)]


def _frequencies() -> list[tuple[str, str]]:
    present = set(Indicator.objects.entered().values_list("frequency", flat=True))
    return [(value, label) for value, label in Indicator._meta.get_field("frequency").choices if value in present]


@login_required
@require_safe
def entry_index(request: HttpRequest) -> HttpResponse:
    """Choose a state, a form (one per frequency, so periods match) and a period; see what awaits you."""
    _entry_user(request)
    countries = Country.objects.filter(pk__in=permissions.countries_readable_unapproved(request.user))
    today = timezone.localdate()
    forms_by_frequency = [
        {"frequency": value, "label": label, "periods": _period_choices(value, today)}
        for value, label in _frequencies()
    ]
    approvals = (
        PeriodApproval.objects.filter(country__in=countries)
        .exclude(status=PeriodApproval.Status.OPEN)
        .select_related("country", "updated_by")
        .order_by("-updated_at")[:30]
    )
    return render(
        request,
        "monitoring/entry_index.html",
        {"countries": countries, "entry_forms": forms_by_frequency, "approvals": approvals},
    )


@login_required
@require_safe
def entry_open(request: HttpRequest) -> HttpResponse:
    """The period selector's target: /entry/open/?country=KG&period=2024-03 -> the form."""
    _entry_user(request)
    country = _country_in_scope(request, request.GET.get("country", ""))
    try:
        period = periods.parse_period(request.GET.get("period", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("monitoring:index")
    return redirect("monitoring:period", iso2=country.iso2.lower(), period=period.text)


def _pillar_label(value: str) -> str:
    return str(Pillar(value).label).capitalize()


@login_required
@require_http_methods(["GET", "POST"])
def period_entry(request: HttpRequest, iso2: str, period: str) -> HttpResponse:
    """The entry screen of one state and period: every indicator of that period's frequency, grouped by
    pillar, with the previous periods' values, units, statuses, rejection reasons and outlier warnings."""
    _entry_user(request)
    country = _country_in_scope(request, iso2)
    try:
        parsed = periods.parse_period(period)
    except ValidationError:
        raise Http404(_("Not a period.")) from None
    indicators = selectors.entry_indicators(parsed.frequency)
    if not indicators:
        raise Http404(_("No indicator is entered for this frequency."))

    user = request.user
    may_enter = permissions.can_enter(user, country)
    may_approve = permissions.can_approve(user, country)
    approval = PeriodApproval.objects.filter(country=country, period=parsed.text).first()
    locked = bool(approval and approval.is_locked)
    current = {
        observation.indicator.code: observation
        for observation in Observation.objects.filter(country=country, period=parsed.text, place_key="").select_related(
            "indicator"
        )
    }
    readonly_codes = (
        {indicator.code for indicator in indicators}
        if locked or not may_enter
        else {code for code, obs in current.items() if obs.status in (Status.APPROVED, Status.SUBMITTED)}
    )
    initial = {}
    for code, observation in current.items():
        initial[f"value_{code}"] = observation.value
        initial[f"comment_{code}"] = observation.comment

    form = PeriodEntryForm(indicators=indicators, locked_codes=readonly_codes, initial=initial)
    reason_form = ReasonForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in ("save", "submit"):
            if not may_enter:
                raise PermissionDenied(_("You may not enter values for %(country)s.") % {"country": country.name})
            form = PeriodEntryForm(request.POST, indicators=indicators, locked_codes=readonly_codes, initial=initial)
            if form.is_valid() and _save(request, form, country, parsed, current, submit=action == "submit"):
                return redirect(request.path)
        elif action in ("approve", "reject", "reopen"):
            if not may_approve:
                raise PermissionDenied(
                    _("You may not approve, reject or reopen values of %(country)s.") % {"country": country.name}
                )
            reason_form = ReasonForm(request.POST) if action != "approve" else ReasonForm()
            if _decide(request, action, reason_form, country, parsed):
                return redirect(request.path)
        else:
            return HttpResponse(_("Unknown action."), status=400)

    previous = selectors.previous_values(country=country, indicators=indicators, period=parsed, count=PREVIOUS_PERIODS)
    groups: dict[str, list[dict]] = {}
    for indicator in indicators:
        observation = current.get(indicator.code)
        check = None
        if observation is not None and observation.status != Status.APPROVED:
            check = selectors.value_check(
                country=country, indicator=indicator, period=parsed.text, value=observation.value
            )
        groups.setdefault(indicator.pillar, []).append(
            {
                "indicator": indicator,
                "field": form[f"value_{indicator.code}"],
                "comment": form[f"comment_{indicator.code}"],
                "observation": observation,
                "previous": previous[indicator.pk],
                "check": check,
            }
        )
    counts = selectors.period_status_counts(country, parsed.text)
    status_labels = [(Status(status).label, count) for status, count in counts.items()]
    return render(
        request,
        "monitoring/period_entry.html",
        {
            "country": country,
            "period": parsed,
            "previous_periods": [parsed.shift(-step).text for step in range(PREVIOUS_PERIODS, 0, -1)],
            "groups": [(_pillar_label(pillar), rows) for pillar, rows in groups.items()],
            "form": form,
            "reason_form": reason_form,
            "approval": approval,
            "locked": locked,
            "may_enter": may_enter and not locked,
            "may_approve": may_approve,
            "counts": counts,
            "status_labels": status_labels,
            "can_submit": may_enter
            and not locked
            and (counts.get(Status.DRAFT, 0) + counts.get(Status.REJECTED, 0)) > 0,
            "can_decide": may_approve and counts.get(Status.SUBMITTED, 0) > 0,
            "can_reopen": may_approve and locked,
            "period_choices": _period_choices(parsed.frequency, timezone.localdate()),
            "earlier": _within_range(parsed.shift(-1)),
            "later": _within_range(parsed.shift(1)),
        },
    )


def _within_range(period: periods.Period) -> periods.Period | None:
    """A neighbour period worth linking to: one a person may open (none before 1900 or after 2100)."""
    return period if periods.MIN_YEAR <= period.year <= periods.MAX_YEAR else None


def _save(request, form, country, parsed, current, *, submit: bool) -> bool:
    """Record every changed value (and submit, if asked) in one transaction: one refused value writes
    nothing, and the refusal is shown beside its field. Outlier warnings do not refuse."""
    state = {code: (obs.value, obs.comment) for code, obs in current.items()}
    saved = []
    with transaction.atomic():
        for indicator, value, comment in form.changed_values(state):
            try:
                saved.append(
                    services.observation_record(
                        country=country,
                        indicator=indicator,
                        period=parsed.text,
                        value=value,
                        comment=comment,
                        user=request.user,
                        door=Door.PAGE,
                    )
                )
            except ValidationError as error:
                for field_name, field_messages in error.message_dict.items():
                    target = f"value_{indicator.code}" if field_name == "value" else None
                    for message in field_messages:
                        form.add_error(target, f"{indicator.code}: {message}" if target is None else message)
        if submit and not form.errors:
            try:
                services.period_submit(country=country, period=parsed.text, user=request.user, door=Door.PAGE)
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
        if form.errors:
            transaction.set_rollback(True)
            return False
    for observation in saved:
        check = selectors.value_check(
            country=country, indicator=observation.indicator, period=parsed.text, value=observation.value
        )
        if check.warning:
            messages.warning(request, f"{observation.indicator.code}: {check.warning}")
    if submit:
        messages.success(request, _("The period %(period)s is submitted for approval.") % {"period": parsed.text})
    else:
        messages.success(
            request, _("%(count)s value(s) saved as draft.") % {"count": len(saved)} if saved else _("Nothing changed.")
        )
    return True


def _decide(request, action: str, reason_form: ReasonForm, country, parsed) -> bool:
    arguments = {"country": country, "period": parsed.text, "user": request.user, "door": Door.PAGE}
    try:
        if action == "approve":
            count = services.period_approve(**arguments)
            messages.success(request, _("%(count)s value(s) approved; the period is locked.") % {"count": count})
            return True
        if not reason_form.is_valid():
            return False
        reason = reason_form.cleaned_data["reason"]
        if action == "reject":
            count = services.period_reject(**arguments, reason=reason)
            messages.success(request, _("%(count)s value(s) sent back to the clerk.") % {"count": count})
        else:
            services.period_reopen(**arguments, reason=reason)
            messages.success(request, _("The period %(period)s is reopened for correction.") % {"period": parsed.text})
        return True
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return True


@login_required
@require_safe
def value_check(request: HttpRequest) -> JsonResponse:
    """The check the form runs while typing: range (refused) and outlier (warning), as JSON."""

    def refuse(message: str, status: int) -> JsonResponse:
        return JsonResponse({"error": {"code": "invalid", "message": message, "details": {}}}, status=status)

    country = Country.objects.by_code(request.GET.get("country", "")).first()
    indicator = Indicator.objects.filter(code=request.GET.get("indicator", "")).first()
    if country is None or indicator is None:
        return refuse(_("Unknown country or indicator."), 400)
    if not permissions.can_read_unapproved(request.user, country):
        return refuse(_("You may not check values of %(country)s.") % {"country": country.name}, 403)
    try:
        value = float(request.GET.get("value", ""))
        if not math.isfinite(value):  # "nan" parses, scores NaN and answered JSON a browser cannot read
            raise ValueError(value)
        period = periods.parse_period(request.GET.get("period", ""), indicator.frequency)
    except ValueError:
        return refuse(_("The value must be a number."), 400)
    except ValidationError as error:
        return refuse(" ".join(error.messages), 400)
    check = selectors.value_check(country=country, indicator=indicator, period=period.text, value=value)
    return JsonResponse(check.as_dict())


@login_required
@require_safe
def observation_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change of one value and of its period's approval: who, when, old and new value, door."""
    observation = get_object_or_404(selectors.observations_visible(request.user), pk=pk)
    if not permissions.can_read_unapproved(request.user, observation.country):
        raise PermissionDenied(_("The history of this value is internal to its ministry."))
    rows = list(observation.history.select_related("history_user").order_by("history_date", "history_id"))
    steps = []
    previous = None
    for row in rows:
        steps.append(
            {
                "row": row,
                "old_value": previous.value if previous else None,
                "changed": not previous or previous.value != row.value,
            }
        )
        previous = row
    approval = PeriodApproval.objects.filter(country=observation.country, period=observation.period).first()
    approval_steps = (
        list(approval.history.select_related("history_user").order_by("history_date", "history_id")) if approval else []
    )
    return render(
        request,
        "monitoring/observation_history.html",
        {
            "observation": observation,
            "steps": steps,
            "approval_steps": approval_steps,
            "form_url": reverse(
                "monitoring:period", kwargs={"iso2": observation.country.iso2.lower(), "period": observation.period}
            ),
        },
    )


@login_required
@require_safe
def completeness(request: HttpRequest) -> HttpResponse:
    """DHIS2's reporting-rate report: for each state, which values were expected, entered, submitted,
    approved. Counts only, no values, so every signed-in person may read it."""
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year - 1)
    except ValueError:
        year = today.year - 1
    year = min(max(year, periods.MIN_YEAR), periods.MAX_YEAR)
    countries = list(Country.objects.all())
    selected = Country.objects.by_code(request.GET.get("country", "")).first()
    if selected is None:
        own = permissions.countries_enterable(request.user) or permissions.countries_approvable(request.user)
        selected = next((country for country in countries if country.pk in own), countries[0] if countries else None)
    reports = [selectors.completeness_for(country, year, today=today) for country in countries]
    detail = next((report for report in reports if selected and report.country.pk == selected.pk), None)
    years = sorted(set(selectors.completeness_years()) | {today.year, today.year - 1}, reverse=True)
    return render(
        request,
        "monitoring/completeness.html",
        {"reports": reports, "detail": detail, "year": year, "years": years, "selected": selected},
    )
