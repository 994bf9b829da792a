"""Pages of the alert engine. The alerts list itself is served by the dashboards (`/alerts/`)."""

from django.shortcuts import render

from monitoring.alerts.methods.alps import ALPS_BANDS
from monitoring.alerts.methods.bands import FOOD_EXPENDITURE_BANDS, STUNTING_BANDS, WASTING_BANDS
from monitoring.alerts.methods.ifpa import IFPA_BANDS
from monitoring.alerts.models import AlertRule
from monitoring.alerts.selectors import class_label, ifpa_reproduction


def _bands(bands) -> list[dict]:
    rows, lower = [], None
    for upper, name, level in bands:
        rows.append({"lower": lower, "upper": upper, "class": class_label(name), "level": level})
        lower = upper
    return rows


def methodology(request):
    """Each method, its source, its parameters, what insufficient data means, and the IFPA reproduction
    (computed from the database at request time, cached per data version)."""
    context = {
        "reproduction": ifpa_reproduction(),
        "rules": AlertRule.objects.order_by("method", "name"),
        "ifpa_bands": _bands(IFPA_BANDS),
        "alps_bands": _bands(ALPS_BANDS),
        "wasting_bands": _bands(WASTING_BANDS),
        "stunting_bands": _bands(STUNTING_BANDS),
        "food_expenditure_bands": _bands(FOOD_EXPENDITURE_BANDS),
    }
    return render(request, "alerts/methodology.html", context)
