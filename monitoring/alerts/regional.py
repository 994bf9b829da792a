"""Regional alerts for the five states together (METHODS.md section 5).

- Prices: FAO's share rule (IFPA step 8). IFPA is never averaged across countries; the regional figure is
  the share of the five states whose IFPA is moderately or abnormally high, and a majority of the five
  (3 or more) is a regional alert. A state counts with its national series; a state with no national
  series of that commodity counts as high when most of its scored markets are.
- Supply: the regional balance `sum(production) - sum(domestic utilisation)` and the coverage of the net
  importers' needs by the net exporters' surplus, per commodity (cereals from CEREAL_*, wheat from
  WHEAT_*). Where a state reports no utilisation, its apparent utilisation `production + imports -
  exports` is used (stock changes ignored) and the alert says so.

`price_share` and `cereal_balance` are pure (DataFrame in, DataFrame out); `regional_compute` writes.
"""

import re
from datetime import date

import numpy as np
import pandas as pd
from django.db.models import Case, Count, IntegerField, Max, Q, When
from django.utils import timezone

from countries.models import Country
from monitoring.alerts.models import Alert, Level, Method, RegionalAlert, Score
from monitoring.models import Indicator, Observation

STATES_IN_REGION = 5  # Kazakhstan, Kyrgyzstan, Tajikistan, Turkmenistan, Uzbekistan
MAJORITY = 3  # FAO: a region "suffers from high prices" when a majority of its states do
COMMODITY_CODES = {
    "cereals": {
        "production": "CEREAL_PROD",
        "imports": "CEREAL_IMP",
        "exports": "CEREAL_EXP",
        "utilisation": "CEREAL_UTIL",
    },
    "wheat": {"production": "WHEAT_PROD", "imports": "WHEAT_IMP", "exports": "WHEAT_EXP", "utilisation": None},
}
CEREAL_CODES = {code for codes in COMMODITY_CODES.values() for code in codes.values() if code}


def price_share(country_levels: pd.DataFrame) -> pd.DataFrame:
    """Share of the five states with high IFPA per indicator and month.

    Input columns: indicator_id, country_id, period, period_start, national_level (NaN without a national
    series), high_markets, scored_markets. Output: indicator_id, period, period_start, high_count,
    scored_count, share, majority, high_states (list of country ids)."""
    columns = [
        "indicator_id",
        "period",
        "period_start",
        "high_count",
        "scored_count",
        "share",
        "majority",
        "high_states",
    ]
    if country_levels.empty:
        return pd.DataFrame(columns=columns)
    frame = country_levels.copy()
    national = frame["national_level"]
    by_markets = np.where(frame["scored_markets"] > 0, frame["high_markets"] * 2 > frame["scored_markets"], np.nan)
    high = np.where(national.notna(), national >= 1, by_markets)
    frame["scored"] = ~pd.isna(high)
    frame["high"] = np.where(frame["scored"], high, False).astype(bool)
    grouped = frame.groupby(["indicator_id", "period", "period_start"], sort=True)
    result = grouped.agg(high_count=("high", "sum"), scored_count=("scored", "sum")).reset_index()
    states = (
        frame[frame["high"]]
        .groupby(["indicator_id", "period"])["country_id"]
        .apply(lambda ids: sorted(int(i) for i in ids))
    )
    result = result.merge(
        states.rename("high_states"), left_on=["indicator_id", "period"], right_index=True, how="left"
    )
    result["high_states"] = result["high_states"].apply(lambda value: value if isinstance(value, list) else [])
    result["share"] = result["high_count"] / STATES_IN_REGION
    result["majority"] = result["high_count"] >= MAJORITY
    return result[columns]


def cereal_balance(values: pd.DataFrame, codes: dict[str, str | None]) -> pd.DataFrame:
    """Regional balance and coverage per year for one commodity.

    Input: country_id, code, period, value (annual). Output per period: balance (t), coverage (exporters'
    surplus / importers' needs; NaN without importers), exporters and importers (country ids, net),
    missing (country ids without production), apparent (ids whose utilisation is production + imports -
    exports), level (2: regional deficit, 1: importers' needs not covered, 0 otherwise)."""
    columns = [
        "period",
        "balance",
        "coverage",
        "exporters",
        "importers",
        "apparent",
        "reporting",
        "level",
        "method_class",
    ]
    if values.empty:
        return pd.DataFrame(columns=columns)
    wide = values.pivot_table(index=["period", "country_id"], columns="code", values="value", aggfunc="first")
    production = wide.get(codes["production"])
    if production is None:
        return pd.DataFrame(columns=columns)
    imports = wide.get(codes["imports"], pd.Series(0.0, index=wide.index)).fillna(0.0)
    exports = wide.get(codes["exports"], pd.Series(0.0, index=wide.index)).fillna(0.0)
    reported = wide.get(codes["utilisation"]) if codes.get("utilisation") else None
    apparent_use = production + imports - exports
    utilisation = apparent_use if reported is None else reported.fillna(apparent_use)
    frame = pd.DataFrame(
        {
            "production": production,
            "utilisation": utilisation,
            "apparent": reported.isna() if reported is not None else True,
        }
    ).dropna(subset=["production"])
    frame["surplus"] = frame["production"] - frame["utilisation"]
    rows = []
    for period, group in frame.groupby(level="period"):
        countries = group.index.get_level_values("country_id")
        surplus = group["surplus"].to_numpy()
        exporter_surplus = surplus[surplus > 0].sum()
        importer_needs = -surplus[surplus < 0].sum()
        balance = float(group["production"].sum() - group["utilisation"].sum())
        coverage = exporter_surplus / importer_needs if importer_needs > 0 else np.nan
        if balance < 0:
            level, method_class = Level.WARNING, "regional deficit"
        elif importer_needs > 0 and coverage < 1:
            level, method_class = Level.WATCH, "needs not covered"
        else:
            level, method_class = Level.NORMAL, "normal"
        rows.append(
            {
                "period": period,
                "balance": balance,
                "coverage": coverage,
                "exporters": sorted(int(c) for c in countries[surplus > 0]),
                "importers": sorted(int(c) for c in countries[surplus < 0]),
                "apparent": sorted(int(c) for c in countries[group["apparent"].to_numpy(dtype=bool)]),
                "reporting": sorted(int(c) for c in countries),
                "level": int(level),
                "method_class": method_class,
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------------------------ writes


COUNTRY_LEVEL_COLUMNS = [
    "indicator_id", "country_id", "period", "period_start", "national_level", "high_markets", "scored_markets",
]  # fmt: skip
MONTH = re.compile(r"\d{4}-\d{2}")


def _country_ifpa_levels(
    indicator_ids: set[int], since: date | None, excluded: set[tuple[int, int]] = frozenset()
) -> pd.DataFrame:
    """Per indicator, state and month: the national IFPA level and the count of high and scored markets
    (from the stored scores; `excluded`: (rule, indicator) pairs left out)."""
    queryset = Score.objects.filter(
        method=Method.IFPA, indicator_id__in=indicator_ids, level__isnull=False, period__regex=r"^\d{4}-\d{2}$"
    )
    for rule_id, indicator_id in excluded:
        queryset = queryset.exclude(rule_id=rule_id, indicator_id=indicator_id)
    if since is not None:
        queryset = queryset.filter(period_start__gte=since)
    rows = (
        queryset.values("indicator_id", "country_id", "period", "period_start")
        .annotate(
            national_level=Max(Case(When(place_key="", then="level"), output_field=IntegerField())),
            high_markets=Count("id", filter=Q(level__gte=1) & ~Q(place_key="")),
            scored_markets=Count("id", filter=~Q(place_key="")),
        )
        .order_by()
    )
    return pd.DataFrame.from_records(list(rows), columns=COUNTRY_LEVEL_COLUMNS).astype({"national_level": "float"})


def country_ifpa_levels_of(scores: pd.DataFrame, indicator_ids: set[int], since: date | None) -> pd.DataFrame:
    """The same figures as `_country_ifpa_levels`, from the score rows of IFPA rules in memory (a full run
    has every series' scores at hand: reading 1.4 million periods back from the database costs seconds).
    Rows are chosen with numpy and grouped by integer codes (the frame has millions of rows and dozens of
    columns)."""
    period_codes, periods = pd.factorize(scores["period"], use_na_sentinel=True)
    monthly = np.array([*(bool(MONTH.fullmatch(str(period))) for period in periods), False])  # -1: no period
    level = scores["level"].to_numpy(dtype=float)
    keep = scores["indicator_id"].isin(indicator_ids).to_numpy() & ~np.isnan(level) & monthly[period_codes]
    starts = scores["period_start"].to_numpy()
    if since is not None:
        keep &= starts >= np.datetime64(since)
    positions = np.flatnonzero(keep)
    national = (scores["place_key"] == "").to_numpy()[positions]
    level = level[positions]
    frame = pd.DataFrame(
        {
            "indicator_id": scores["indicator_id"].to_numpy(dtype="int64")[positions],
            "country_id": scores["country_id"].to_numpy(dtype="int64")[positions],
            "period_code": period_codes[positions],
            "period_start": starts[positions],
            "national_level": np.where(national, level, np.nan),
            "high_markets": ~national & (level >= 1),
            "scored_markets": ~national,
        }
    )
    levels = (
        frame.groupby(["indicator_id", "country_id", "period_code"], sort=False)
        .agg(
            period_start=("period_start", "first"),  # a month has one start
            national_level=("national_level", "max"),
            high_markets=("high_markets", "sum"),
            scored_markets=("scored_markets", "sum"),
        )
        .reset_index()
    )
    levels["period"] = np.asarray(periods, dtype=object)[levels["period_code"].to_numpy()]
    levels["period_start"] = levels["period_start"].dt.date
    return levels[COUNTRY_LEVEL_COLUMNS]


def _state_entries(country_ids: list[int], countries: dict[int, Country]) -> list[dict]:
    return [
        {"iso2": countries[pk].iso2, "name_en": countries[pk].name_en, "name_ru": countries[pk].name_ru}
        for pk in country_ids
    ]


def country_levels_merged(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Country levels of disjoint sets of series, as if computed over all of them at once."""
    parts = [part for part in parts if len(part)]
    if len(parts) < 2:
        return parts[0] if parts else pd.DataFrame(columns=COUNTRY_LEVEL_COLUMNS)
    return (
        pd.concat(parts, ignore_index=True)
        .groupby(["indicator_id", "country_id", "period", "period_start"], sort=False)
        .agg(national_level=("national_level", "max"), high_markets=("high_markets", "sum"),
             scored_markets=("scored_markets", "sum"))
        .reset_index()[COUNTRY_LEVEL_COLUMNS]
    )  # fmt: skip


def regional_compute(
    *,
    indicator_ids: set[int],
    cereal: bool,
    since: date | None,
    summary,
    country_levels: pd.DataFrame | None = None,
    scored_pairs: set[tuple[int, int]] = frozenset(),
) -> list[int]:
    """Converge the regional alerts; returns ids of regional alerts newly raised (to notify).

    `country_levels`: on a full run, `country_ifpa_levels_of` the score rows of every series of the
    `scored_pairs` (rule, indicator) the run computed, from `since` on (the engine computes them in memory);
    the share rule takes those, and reads any other stored series (a rule switched off keeps its scores)
    from the database, so that it counts what an incremental run counts."""
    in_memory = (
        country_levels[country_levels["indicator_id"].isin(indicator_ids)]
        if indicator_ids and country_levels is not None
        else None
    )
    countries = {country.pk: country for country in Country.objects.all()}
    indicators = {indicator.pk: indicator for indicator in Indicator.objects.all()}
    wanted: list[dict] = []  # regional alerts that should exist, open or cleared
    normal_after: dict[tuple[str, int], date] = {}
    scope: list[tuple[str, int]] = []

    if indicator_ids:
        if in_memory is None:
            levels = _country_ifpa_levels(indicator_ids, since)
        else:
            levels = country_levels_merged(
                [in_memory, _country_ifpa_levels(indicator_ids, since, excluded=scored_pairs)]
            )
        shares = price_share(levels)
        for indicator_id in indicator_ids:
            scope.append((RegionalAlert.Kind.PRICE_SHARE, indicator_id))
        for row in shares.itertuples(index=False):
            key = (RegionalAlert.Kind.PRICE_SHARE, int(row.indicator_id))
            start = pd.Timestamp(row.period_start).date()
            if not row.majority:
                if row.scored_count >= MAJORITY:
                    normal_after[key] = max(normal_after.get(key, start), start)
                continue
            indicator = indicators[int(row.indicator_id)]
            wanted.append(
                {
                    "kind": key[0],
                    "indicator_id": key[1],
                    "period": row.period,
                    "period_start": start,
                    "score": float(row.share),
                    "level": Level.WARNING,
                    "states": list(row.high_states),
                    "inputs": {"high_count": int(row.high_count), "scored_count": int(row.scored_count)},
                    "message_params": {
                        "subject_en": indicator.name_en,
                        "subject_ru": indicator.name_ru,
                        "high_count": int(row.high_count),
                        "states": _state_entries(list(row.high_states), countries),
                    },
                }
            )

    if cereal:
        codes_to_ids = {indicator.code: pk for pk, indicator in indicators.items()}
        for commodity, codes in COMMODITY_CODES.items():
            production_id = codes_to_ids.get(codes["production"])
            if production_id is None:
                continue
            key = (RegionalAlert.Kind.CEREAL_BALANCE, production_id)
            scope.append(key)
            ids = [codes_to_ids[code] for code in codes.values() if code and code in codes_to_ids]
            values = pd.DataFrame.from_records(
                list(
                    Observation.objects.approved()
                    .national()
                    .filter(indicator_id__in=ids)
                    .values_list("country_id", "indicator__code", "period", "value", "flag")
                ),
                columns=["country_id", "code", "period", "value", "flag"],
            )
            balance = cereal_balance(values, codes)
            for row in balance.itertuples(index=False):
                start = date(int(row.period), 1, 1)
                if since is not None and start < since:
                    continue
                if row.level == Level.NORMAL:
                    normal_after[key] = max(normal_after.get(key, start), start)
                    continue
                wanted.append(
                    {
                        "kind": key[0],
                        "indicator_id": key[1],
                        "period": str(row.period),
                        "period_start": start,
                        "score": None if pd.isna(row.coverage) else float(row.coverage),
                        "level": int(row.level),
                        "states": sorted(set(row.importers) | set(row.exporters)),
                        "inputs": {
                            "commodity": commodity,
                            "balance": row.balance,
                            "class": row.method_class,
                            "reporting": [countries[pk].iso2 for pk in row.reporting],
                            "apparent_utilisation": [countries[pk].iso2 for pk in row.apparent],
                        },
                        "message_params": {
                            "subject_en": commodity,
                            "subject_ru": "зерновых" if commodity == "cereals" else "пшеницы",
                            "balance": row.balance,
                            "exporters": _state_entries(row.exporters, countries),
                            "importers": _state_entries(row.importers, countries),
                            "apparent_utilisation": [countries[pk].iso2 for pk in row.apparent],
                        },
                    }
                )
    return _converge(wanted, scope, normal_after, since, summary)


def _converge(wanted: list[dict], scope: list, normal_after: dict, since: date | None, summary) -> list[int]:
    now = timezone.now()
    if not scope:
        return []
    scope_q = Q(pk__in=[])
    for kind, indicator_id in scope:
        scope_q |= Q(kind=kind, indicator_id=indicator_id)
    existing_qs = RegionalAlert.objects.filter(scope_q)
    if since is not None:
        existing_qs = existing_qs.filter(period_start__gte=since)
    existing = {(a.kind, a.indicator_id, a.period): a for a in existing_qs.prefetch_related("states")}
    raised: list[int] = []
    seen = set()
    for entry in wanted:
        key = (entry["kind"], entry["indicator_id"], entry["period"])
        seen.add(key)
        cleared = (entry["kind"], entry["indicator_id"]) in normal_after and entry["period_start"] < normal_after[
            (entry["kind"], entry["indicator_id"])
        ]
        status = Alert.Status.RESOLVED if cleared else Alert.Status.OPEN
        alert = existing.get(key)
        if alert is None:
            alert = RegionalAlert.objects.create(
                kind=entry["kind"],
                indicator_id=entry["indicator_id"],
                period=entry["period"],
                period_start=entry["period_start"],
                score=entry["score"],
                level=entry["level"],
                inputs=entry["inputs"],
                message_params=entry["message_params"],
                status=status,
            )
            alert.states.set(entry["states"])
            _link_country_alerts(alert, entry["states"])
            summary.regional_alerts += 1
            if status == Alert.Status.OPEN:
                raised.append(alert.pk)
            continue
        changed = (
            alert.level != entry["level"]
            or alert.score != entry["score"]
            or alert.inputs != entry["inputs"]
            or alert.message_params != entry["message_params"]
            or (cleared and alert.status != Alert.Status.RESOLVED)
        )
        if changed:
            alert.level, alert.score = entry["level"], entry["score"]
            alert.inputs, alert.message_params = entry["inputs"], entry["message_params"]
            if cleared:
                alert.status = Alert.Status.RESOLVED
            alert.save(update_fields=["level", "score", "inputs", "message_params", "status", "updated_at"])
        if sorted(state.pk for state in alert.states.all()) != sorted(entry["states"]):
            alert.states.set(entry["states"])
            _link_country_alerts(alert, entry["states"])
    stale = [alert.pk for key, alert in existing.items() if key not in seen and alert.status != Alert.Status.RESOLVED]
    if stale:
        RegionalAlert.objects.filter(pk__in=stale).update(status=Alert.Status.RESOLVED, updated_at=now)
    return raised


def _link_country_alerts(alert: RegionalAlert, state_ids: list[int]) -> None:
    """A regional alert links to the country alerts behind it (same indicator and period)."""
    if alert.kind == RegionalAlert.Kind.PRICE_SHARE:
        country_alerts = Alert.objects.filter(
            method=Method.IFPA, indicator_id=alert.indicator_id, period=alert.period, country_id__in=state_ids
        )
    else:
        country_alerts = Alert.objects.none()
    alert.alerts.set(country_alerts)
