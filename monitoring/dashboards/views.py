"""The public pages (overview, country, indicator, alerts) and the alert actions: parse, call, render."""

import csv
import hashlib
from functools import wraps
from io import BytesIO

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from config.exceptions import ApplicationError
from countries.models import Country
from monitoring import charts, permissions
from monitoring.alerts.models import Alert
from monitoring.dashboards import selectors
from monitoring.dashboards.forms import AlertFilterForm, AlertNoteForm
from monitoring.models import Indicator

ALERTS_PER_PAGE = 50
EXPORT_MAX_ROWS = 100_000  # far above the region's alerts in a decade; keeps a runaway export bounded


# A visitor without an account gets the whole page from the cache; only the CSRF token of the language
# switch differs per visitor, so the cached page holds this placeholder and each response gets its own.
CSRF_PLACEHOLDER = "__dashboards_csrf_token__"


def _cached_page(request: HttpRequest, **context) -> dict:
    """The public pages' main content is the same for every reader of a language, so the templates cache
    it as a fragment keyed by the data version (`{% cache %}`); the page data is a lazy object that is
    only built (or read from the data cache) when the fragment is not cached."""
    version = getattr(request, "dashboards_data_version", None) or selectors.data_version()
    context = {"data_version": version, "cache_seconds": selectors.CACHE_SECONDS, **context}
    if getattr(request, "dashboards_csrf_placeholder", False):
        context["csrf_token"] = CSRF_PLACEHOLDER
    return context


def _anonymous_visitor(request: HttpRequest) -> bool:
    """No account, no session and no pending message: the page is the same for every such visitor."""
    return (
        not request.user.is_authenticated
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def public_page(view):
    """Serve anonymous visitors the whole page from the cache, keyed by path, currency, language and data
    version (one query); everyone else gets it rendered around the cached main content."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _anonymous_visitor(request):
            return view(request, *args, **kwargs)
        request.dashboards_data_version = selectors.data_version()
        raw_key = "|".join([request.path, _currency(request), get_language() or "en", request.dashboards_data_version])
        key = "dashboards:page:" + hashlib.sha256(raw_key.encode()).hexdigest()
        html = cache.get(key)
        if html is None:
            request.dashboards_csrf_placeholder = True
            response = view(request, *args, **kwargs)
            if response.status_code != 200:
                return response
            html = response.content.decode()
            cache.set(key, html, selectors.CACHE_SECONDS)
        return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)))

    return wrapper


@require_safe
@public_page
def overview(request: HttpRequest) -> HttpResponse:
    context = _cached_page(request, overview=SimpleLazyObject(selectors.overview))
    return render(request, "dashboards/overview.html", context)


def _currency(request: HttpRequest) -> str:
    return "usd" if request.GET.get("currency") == "usd" else "local"


@require_safe
@public_page
def country_detail(request: HttpRequest, iso2: str) -> HttpResponse:
    country = get_object_or_404(Country, iso2=iso2.upper())
    currency = _currency(request)
    page = SimpleLazyObject(lambda: selectors.country_page(country=country, currency=currency))
    return render(
        request, "dashboards/country.html", _cached_page(request, country=country, currency=currency, page=page)
    )


@require_safe
@public_page
def indicator_detail(request: HttpRequest, code: str) -> HttpResponse:
    indicator = get_object_or_404(Indicator, code=code.upper())
    page = SimpleLazyObject(lambda: selectors.indicator_page(indicator=indicator))
    indicators = Indicator.objects.order_by("pillar", "sort_order", "code").only("code", "name_en", "name_ru", "pillar")
    return render(
        request,
        "dashboards/indicator.html",
        _cached_page(request, indicator=indicator, page=page, indicators=indicators),
    )


@require_safe
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or None)
    alerts = selectors.alerts_filtered(**form.filters())
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    manageable = {
        alert.pk
        for alert in page.object_list
        if alert.status != Alert.Status.RESOLVED and permissions.can_manage_alerts(request.user, alert.country_id)
    }
    rows = [
        {
            "alert": alert,
            "sentence": selectors.alert_sentence(alert),
            "place": selectors.place_name(alert),
            "level": selectors.level_cell(alert.level),
            "can_manage": alert.pk in manageable,
        }
        for alert in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboards/alerts.html",
        {
            "form": form,
            "page_obj": page,
            "rows": rows,
            "query": query.urlencode(),
            "note_form": AlertNoteForm(),
            "chart_library": False,
        },
    )


def _export_rows(request: HttpRequest) -> tuple[list[str], list[list]]:
    form = AlertFilterForm(request.GET or None)
    alerts = selectors.alerts_filtered(**form.filters())[:EXPORT_MAX_ROWS]
    header = [
        _("State"),
        _("ISO code"),
        _("Indicator code"),
        _("Indicator"),
        _("Pillar"),
        _("Place"),
        _("Period"),
        _("Method"),
        _("Method's class"),
        _("Score"),
        _("Level"),
        _("Level (0-3)"),
        _("Status"),
        _("Raised at"),
        _("Acknowledged at"),
        _("Acknowledgement note"),
        _("Resolved at"),
        _("Resolution note"),
        _("Sentence"),
    ]
    rows = [
        [
            alert.country.name,
            alert.country.iso2,
            alert.indicator.code,
            alert.indicator.name,
            alert.get_pillar_display(),
            selectors.place_name(alert),
            alert.period,
            alert.get_method_display(),
            alert.method_class,
            alert.score,
            charts.level_label(alert.level),
            alert.level,
            alert.get_status_display(),
            _local(alert.raised_at),
            _local(alert.acknowledged_at),
            alert.acknowledgement_note,
            _local(alert.resolved_at),
            alert.resolution_note,
            selectors.alert_sentence(alert),
        ]
        for alert in alerts
    ]
    return [str(name) for name in header], rows


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _worksheet_safe(value):
    """A worksheet cannot hold control characters (openpyxl raises IllegalCharacterError); a note sent
    with one through the API made every later XLSX export a 500, so they are left out of the cell."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _export_name(extension: str) -> str:
    return f"alerts-{timezone.localdate():%Y-%m-%d}.{extension}"


@require_safe
def alerts_export_csv(request: HttpRequest) -> HttpResponse:
    header, rows = _export_rows(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    response.write("\ufeff")  # byte-order mark: Excel opens UTF-8 (Cyrillic) correctly
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([[_spreadsheet_safe(value) for value in row] for row in rows])
    return response


@require_safe
def alerts_export_xlsx(request: HttpRequest) -> HttpResponse:
    header, rows = _export_rows(request)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Alerts")[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_worksheet_safe(_spreadsheet_safe(value)) for value in row])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name("xlsx")}"'
    return response


def _back(request: HttpRequest, alert: Alert) -> HttpResponseRedirect:
    target = request.POST.get("next") or reverse("dashboards:alerts")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("dashboards:alerts")
    return HttpResponseRedirect(f"{target}#alert-{alert.pk}")


def _alert_action(request: HttpRequest, pk: int, action, done_message: str) -> HttpResponse:
    """Run the alert engine's lifecycle service (imported where used: the engine pulls in pandas, which the
    public pages need not load)."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("dashboards:alerts"))
    alert = get_object_or_404(Alert.objects.select_related("country", "indicator"), pk=pk)
    form = AlertNoteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, alert)
    try:
        action(alert=alert, user=request.user, note=form.cleaned_data["note"])
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You may not manage alerts of this country."))
        return _back(request, alert)
    except (ValidationError, ApplicationError) as error:
        for message in getattr(error, "messages", [str(error)]):
            messages.error(request, message)
        return _back(request, alert)
    messages.success(request, done_message)
    return _back(request, alert)


@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    from monitoring.alerts.services import alert_acknowledge as acknowledge

    return _alert_action(request, pk, acknowledge, _("The alert is acknowledged."))


@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    from monitoring.alerts.services import alert_resolve as resolve

    return _alert_action(request, pk, resolve, _("The alert is resolved."))
