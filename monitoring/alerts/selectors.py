"""Reads of the alert engine for pages, the API and the summit report, each in a fixed number of queries."""

from django.db.models import OuterRef, Subquery
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from countries.models import Country
from monitoring.alerts.methods.common import INSUFFICIENT_REASONS
from monitoring.alerts.models import Alert, Method, RegionalAlert, SeriesState
from monitoring.models import Pillar

# The methods' own class names (kept as the methods publish them), for display in every language.
CLASS_LABELS = {
    "low": gettext_lazy("low"),
    "normal": gettext_lazy("normal"),
    "moderately high": gettext_lazy("moderately high"),
    "abnormally high": gettext_lazy("abnormally high"),
    "stress": gettext_lazy("stress"),
    "alert": gettext_lazy("alert"),
    "crisis": gettext_lazy("crisis"),
    "very low": gettext_lazy("very low"),
    "medium": gettext_lazy("medium"),
    "high": gettext_lazy("high"),
    "very high": gettext_lazy("very high"),
    "rising": gettext_lazy("rising"),
    "not rising": gettext_lazy("not rising"),
    "outlier": gettext_lazy("outlier"),
    "majority of states": gettext_lazy("majority of states"),
    "regional deficit": gettext_lazy("regional deficit"),
    "needs not covered": gettext_lazy("needs not covered"),
}


def class_label(method_class: str) -> str:
    return str(CLASS_LABELS.get(method_class, method_class))


def insufficient_label(reason: str) -> str:
    return str(INSUFFICIENT_REASONS.get(reason, reason))


def country_status_all() -> dict[str, dict]:
    """For each state: the level per pillar and overall for the latest period (METHODS.md).

    A pillar's status is the highest level among its series' latest periods, counting a series with the
    level of its open (or acknowledged) alert for that period, 0 when that period is normal or its alert
    was resolved, and not at all when the latest period could not be scored. None: no data, or nothing
    could be scored. Two queries whatever the size of the tables."""
    open_alert_level = Alert.objects.open().filter(
        rule=OuterRef("rule"),
        indicator=OuterRef("indicator"),
        country=OuterRef("country"),
        place_key=OuterRef("place_key"),
        period=OuterRef("period"),
    )
    states = SeriesState.objects.annotate(open_level=Subquery(open_alert_level.values("level")[:1])).values_list(
        "country__iso2", "pillar", "period", "period_start", "level", "open_level"
    )
    status = {
        iso2: {"overall": None, "pillars": dict.fromkeys(Pillar.values), "period": None, "_start": None}
        for iso2 in Country.objects.order_by("iso2").values_list("iso2", flat=True)
    }
    for iso2, pillar, period, period_start, level, open_level in states:
        entry = status.setdefault(
            iso2, {"overall": None, "pillars": dict.fromkeys(Pillar.values), "period": None, "_start": None}
        )
        if level is None:
            continue
        contribution = open_level if open_level is not None else 0
        current = entry["pillars"].get(pillar)
        entry["pillars"][pillar] = contribution if current is None else max(current, contribution)
        if entry["_start"] is None or period_start > entry["_start"]:
            entry["_start"], entry["period"] = period_start, period
    for entry in status.values():
        levels = [level for level in entry["pillars"].values() if level is not None]
        entry["overall"] = max(levels) if levels else None
        del entry["_start"]
    return status


def _localized(params: dict, name: str) -> str:
    language = (get_language() or "en")[:2]
    return params.get(f"{name}_{language}") or params.get(f"{name}_en") or ""


def _number(value, decimals: int = 1) -> str:
    if value is None:
        return "–"
    return number_format(round(float(value), decimals), decimal_pos=decimals)


def alert_sentence(alert: Alert | RegionalAlert) -> str:
    """A sentence a minister can read, in the active language, from the alert's stored parameters, e.g.
    "Wheat flour in Osh: price 38% above its seasonal norm; ALPS 2.3, crisis". No query."""
    params = alert.message_params or {}
    if isinstance(alert, RegionalAlert):
        return _regional_sentence(alert, params)
    values = {
        "subject": _localized(params, "subject"),
        "place": _localized(params, "place"),
        "score": _number(alert.score, 2 if alert.method == Method.IFPA else 1),
        "class": class_label(alert.method_class),
        "value": _number(params.get("value"), 1),
        "unit": params.get("unit", ""),
        "period": alert.period,
    }
    if alert.method == Method.ALPS:
        values["deviation"] = _number(params.get("deviation_pct"), 0)
        return (
            _(
                "%(subject)s in %(place)s, %(period)s: price %(deviation)s%% above its seasonal norm; "
                "ALPS %(score)s, %(class)s"
            )
            % values
        )
    if alert.method == Method.IFPA:
        values["growth"] = _number(params.get("annual_growth_pct"), 1)
        values["prices"] = _("real prices") if params.get("prices") == "real" else _("nominal prices")
        return (
            _(
                "%(subject)s in %(place)s, %(period)s: %(growth)s%% higher than a year earlier; "
                "IFPA %(score)s, %(class)s (%(prices)s)"
            )
            % values
        )
    if alert.method == Method.BANDS:
        return _("%(subject)s in %(place)s, %(period)s: %(value)s %(unit)s, %(class)s") % values
    if alert.method == Method.TREND:
        values["years"] = params.get("rises", 2)
        return _("%(subject)s in %(place)s rose %(years)s years in a row, to %(value)s %(unit)s in %(period)s") % values
    values["method"] = str(Method(alert.method).label)
    return (
        _(
            "%(subject)s in %(place)s, %(period)s: %(value)s %(unit)s is unusual against its own history "
            "(%(method)s %(score)s)"
        )
        % values
    )


def _state_names(params: dict, key: str) -> str:
    language = (get_language() or "en")[:2]
    return ", ".join(state.get(f"name_{language}") or state.get("name_en", "") for state in params.get(key, []))


def _regional_sentence(alert: RegionalAlert, params: dict) -> str:
    if alert.kind == RegionalAlert.Kind.PRICE_SHARE:
        return _(
            "%(subject)s, %(period)s: prices moderately or abnormally high (IFPA) in %(count)s of the five states "
            "(%(states)s), a majority: FAO's regional high-price alert"
        ) % {
            "subject": _localized(params, "subject"),
            "period": alert.period,
            "count": params.get("high_count", 0),
            "states": _state_names(params, "states"),
        }
    return _(
        "Regional %(subject)s balance %(period)s: %(balance)s t; the net exporters' surplus (%(exporters)s) covers "
        "%(coverage)s%% of the net importers' needs (%(importers)s)"
    ) % {
        "subject": _localized(params, "subject"),
        "period": alert.period,
        "balance": _number(params.get("balance"), 0),
        "coverage": _number(None if alert.score is None else alert.score * 100, 0),
        "exporters": _state_names(params, "exporters") or "–",
        "importers": _state_names(params, "importers") or "–",
    }


# ------------------------------------------------------------------------------- IFPA reproduction check

REPRODUCTION_STATES = ("KZ", "KG", "TJ")
REPRODUCTION_YEARS = (2010, 2021)
REPRODUCTION_HISTORY_FROM = 2004  # METHODS.md IFPA step 10


def ifpa_reproduction() -> dict:
    """The engine's annual food-CPI IFPA (real and nominal prices) beside FAO's published AG_FPA_CFPI
    (indicator IFPA_FOOD) for Kazakhstan, Kyrgyzstan and Tajikistan, 2010-2021, from the approved data in
    the database, computed with the engine's own IFPA function. Cached for an hour per data version.

    Returns {"rows": [{"iso2", "year", "published", "real", "nominal"}], "mean_abs_diff_real",
    "max_abs_diff_real", "mean_abs_diff_nominal", "max_abs_diff_nominal"}; empty rows when the data
    are not loaded."""
    from django.core.cache import cache
    from django.db.models import Count
    from django.db.models import Max as MaxOf

    from monitoring.models import Observation

    codes = ("CPI_FOOD", "CPI_GENERAL", "IFPA_FOOD")
    base = (
        Observation.objects.approved()
        .national()
        .filter(indicator__code__in=codes, country__iso2__in=REPRODUCTION_STATES)
    )
    version = base.aggregate(latest=MaxOf("updated_at"), count=Count("id"))
    latest = version["latest"].timestamp() if version["latest"] else 0
    cache_key = f"alerts:ifpa-reproduction:{latest:.6f}:{version['count']}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    result = _ifpa_reproduction_compute(base)
    cache.set(cache_key, result, 3600)
    return result


def _ifpa_reproduction_compute(observations) -> dict:
    import pandas as pd

    from monitoring.alerts.methods.ifpa import ifpa_scores, real_prices

    frame = pd.DataFrame.from_records(
        list(observations.values_list("indicator__code", "country__iso2", "period", "period_start", "value")),
        columns=["code", "iso2", "period", "period_start", "value"],
    )
    empty = {"rows": [], "mean_abs_diff_real": None, "max_abs_diff_real": None}
    if frame.empty or not {"CPI_FOOD", "CPI_GENERAL", "IFPA_FOOD"} <= set(frame["code"]):
        return empty | {"mean_abs_diff_nominal": None, "max_abs_diff_nominal": None}
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["flag"] = ""
    food = frame[frame["code"] == "CPI_FOOD"]
    general = frame[frame["code"] == "CPI_GENERAL"]
    published = frame[frame["code"] == "IFPA_FOOD"][["iso2", "period", "value"]].rename(columns={"value": "published"})
    result = published.copy()
    for label, series in (("real", real_prices(food, general, ["iso2"])), ("nominal", food)):
        scores = ifpa_scores(series, keys=["iso2"], history_start_year=REPRODUCTION_HISTORY_FROM)
        annual = scores[scores["period"].str.len() == 4][["iso2", "period", "score"]].rename(columns={"score": label})
        result = result.merge(annual, on=["iso2", "period"], how="left")
    result["year"] = result["period"].astype(int)
    low, high = REPRODUCTION_YEARS
    result = result[(result["year"] >= low) & (result["year"] <= high)].sort_values(["iso2", "year"])
    summary = {}
    for label in ("real", "nominal"):
        difference = (result[label] - result["published"]).abs()
        summary[f"mean_abs_diff_{label}"] = None if difference.isna().all() else round(float(difference.mean()), 3)
        summary[f"max_abs_diff_{label}"] = None if difference.isna().all() else round(float(difference.max()), 3)
    rows = [
        {
            "iso2": row.iso2,
            "year": int(row.year),
            "published": float(row.published),
            "real": None if pd.isna(row.real) else round(float(row.real), 2),
            "nominal": None if pd.isna(row.nominal) else round(float(row.nominal), 2),
        }
        for row in result.itertuples(index=False)
    ]
    return {"rows": rows, **summary}
