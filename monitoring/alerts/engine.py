"""The alert engine: approved observations in, scores, alerts, series states and regional alerts out.

One run: load the approved observations the active rules read (one query, COPY on PostgreSQL), run each
rule's method over all its series at once (pandas/numpy, `methods/`), then converge the tables on their
natural keys in one transaction: scores are upserted (a row is rewritten only when it changed) and the
ones that no longer exist are deleted; alerts follow their lifecycle (raised, escalated, de-escalated,
resolved when a later period is normal); the regional rules read the scores back. A second run with the
same data changes nothing, which is what makes the Celery tasks safe to redeliver.
"""

import io
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from countries.models import Country, Market, Region
from monitoring.alerts.methods.alps import alps_scores
from monitoring.alerts.methods.anomaly import anomaly_scores
from monitoring.alerts.methods.bands import band_scores, rise_scores
from monitoring.alerts.methods.common import Insufficient
from monitoring.alerts.methods.ifpa import ifpa_scores, real_prices
from monitoring.alerts.methods.ratios import derive
from monitoring.alerts.models import Alert, AlertEvent, AlertRule, Method, Score, SeriesState
from monitoring.formulas import formula_codes
from monitoring.models import Indicator, Observation

logger = logging.getLogger(__name__)

# (country_id, indicator_id, place_key); place_key None means every place of that country.
SeriesKey = tuple[int, int, str | None]
KEYS = ["country_id", "place_key"]
SERIES = ["rule_id", "indicator_id", "country_id", "place_key"]
ALERT_KEY = [*SERIES, "period"]
# Alerts are raised for the periods of the last two years of a monthly series (ten of an annual one);
# older anomalies stay visible as scores. A rule parameter `alert_lookback_months` overrides it.
DEFAULT_LOOKBACK_MONTHS = {"monthly": 24, "quarterly": 60, "annual": 120}
# Above this many series keys an incremental run filters by country instead of by place (query size).
MAX_KEYS_IN_QUERY = 200


@dataclass
class ComputeSummary:
    rules: int = 0
    series: int = 0
    observations: int = 0
    scores: int = 0
    scores_changed: int = 0
    scores_deleted: int = 0
    alerts_raised: int = 0
    alerts_escalated: int = 0
    alerts_deescalated: int = 0
    alerts_resolved: int = 0
    alerts_open: int = 0
    regional_alerts: int = 0
    notifications: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RuleTarget:
    """One (rule, indicator) pair to compute, with the indicator codes it reads."""

    rule: AlertRule
    indicator: Indicator
    reads: set[str]


# ---------------------------------------------------------------------------------------------- loading


def _observation_frame(queryset) -> pd.DataFrame:
    """Approved observations as a DataFrame; on PostgreSQL through COPY, which is several times faster
    than building a million Python tuples."""
    columns = [
        "indicator_id",
        "country_id",
        "region_id",
        "market_id",
        "place_key",
        "period",
        "period_start",
        "value",
        "flag",
    ]
    queryset = queryset.order_by().values_list(*columns)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
            with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for block in copy:
                    buffer.write(block)
        buffer.seek(0)
        frame = pd.read_csv(
            buffer,
            names=columns,
            dtype={"place_key": str, "period": str, "flag": str},
            keep_default_na=False,
            na_values={"region_id": [""], "market_id": [""], "value": [""]},
        )
    else:
        frame = pd.DataFrame.from_records(list(queryset), columns=columns)
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["place_key"] = frame["place_key"].fillna("").astype(object)
    frame["flag"] = frame["flag"].fillna("").astype(object)
    frame["period"] = frame["period"].astype(object)
    return frame


# ------------------------------------------------------------------------------------------ the methods


def _run_method(target: RuleTarget, frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Scores of one rule on one indicator's series (a pure call into `methods/`)."""
    parameters = target.rule.parameters or {}
    method = target.rule.method
    if method == Method.IFPA:
        allowed = {
            "min_history_years",
            "max_gap_months",
            "quarterly_weight",
            "annual_weight",
            "history_start_year",
            "stale_months",
            "annual_min_months",
        }
        return ifpa_scores(frame, keys=KEYS, as_of=as_of, **{k: v for k, v in parameters.items() if k in allowed})
    if method == Method.ALPS:
        allowed = {"min_years", "min_coverage", "stale_months"}
        return alps_scores(frame, keys=KEYS, as_of=as_of, **{k: v for k, v in parameters.items() if k in allowed})
    if method == Method.BANDS:
        bands = (parameters.get("bands") or {}).get(target.indicator.code) or parameters.get("default_bands")
        if not bands:
            return pd.DataFrame()
        return band_scores(frame, keys=KEYS, bands=bands)
    if method == Method.TREND:
        return rise_scores(frame, keys=KEYS, consecutive=int(parameters.get("consecutive", 2)))
    if method in (Method.ZSCORE, Method.MODIFIED_ZSCORE):
        return anomaly_scores(
            frame,
            keys=KEYS,
            modified=method == Method.MODIFIED_ZSCORE,
            threshold=float(parameters.get("threshold", 3.0)),
            min_history=int(parameters.get("min_history", 4)),
            seasonal=bool(parameters.get("seasonal", True)),
            frequency=target.indicator.frequency,
        )
    raise ValueError(f"Unknown method {method}")


def _input_series(target: RuleTarget, observations: pd.DataFrame, codes: dict[str, int]) -> tuple[pd.DataFrame, str]:
    """The series a rule scores for one indicator: entered values, or derived from the components'
    values; food CPI deflated by the general CPI when the rule says so. Returns (frame, price basis)."""
    indicator = target.indicator
    if indicator.formula:
        component_ids = {codes[code]: code for code in formula_codes(indicator.formula) if code in codes}
        components = observations[observations["indicator_id"].isin(component_ids)]
        components = components.assign(code=components["indicator_id"].map(component_ids))
        frame = derive(components, formula=indicator.formula, keys=KEYS)
    else:
        frame = observations[observations["indicator_id"] == indicator.pk]
    frame = frame[[*KEYS, "period", "period_start", "value", "flag"]]
    deflator = (target.rule.parameters or {}).get("deflate_by")
    if deflator and deflator in codes:
        general = observations[observations["indicator_id"] == codes[deflator]]
        return real_prices(frame, general, KEYS), "real"
    return frame, "nominal" if indicator.category == Indicator.Category.PRICE or deflator else ""


def _scope_filter(target: RuleTarget, frame: pd.DataFrame, country_ids: set[int] | None) -> pd.DataFrame:
    scope = target.rule.place_scope
    if scope == AlertRule.PlaceScope.NATIONAL:
        frame = frame[frame["place_key"] == ""]
    elif scope == AlertRule.PlaceScope.SUBNATIONAL:
        frame = frame[frame["place_key"] != ""]
    if country_ids is not None:
        frame = frame[frame["country_id"].isin(country_ids)]
    return frame


# ------------------------------------------------------------------------------------------- the run


def _targets(
    rules: list[AlertRule], changed_indicator_ids: set[int] | None, indicators: list[Indicator]
) -> list[RuleTarget]:
    """Every (rule, indicator) pair; on an incremental run only those that read a changed indicator."""
    by_id = {indicator.pk: indicator.code for indicator in indicators}
    changed_codes = (
        None if changed_indicator_ids is None else {by_id[pk] for pk in changed_indicator_ids if pk in by_id}
    )
    targets = []
    for rule in rules:
        chosen = {indicator.pk for indicator in rule.indicators.all()}
        for indicator in indicators:
            if indicator.pk not in chosen and not rule.matches(indicator.code):
                continue
            reads = formula_codes(indicator.formula) if indicator.formula else {indicator.code}
            if deflator := (rule.parameters or {}).get("deflate_by"):
                reads = reads | {deflator}
            if changed_codes is None or reads & changed_codes:
                targets.append(RuleTarget(rule=rule, indicator=indicator, reads=reads))
    return targets


def compute(
    *,
    country_id: int | None = None,
    since: date | None = None,
    series: list[SeriesKey] | None = None,
    as_of: date,
    notify: bool = True,
) -> ComputeSummary:
    """One run of the engine (see the module docstring). Called by `services.alerts_compute` only."""
    from monitoring.alerts import notifications, regional

    started = time.perf_counter()
    summary = ComputeSummary()
    timings = summary.timings
    indicators = list(Indicator.objects.order_by("code"))
    codes = {indicator.code: indicator.pk for indicator in indicators}
    rules = list(AlertRule.objects.active().prefetch_related("indicators", "countries"))
    changed_indicator_ids = None if series is None else {indicator_id for _, indicator_id, _ in series}
    targets = _targets(rules, changed_indicator_ids, indicators)
    summary.rules = len({target.rule.pk for target in targets})

    # Which places to read: everything, one country, or the changed series' country and place.
    place_filter = Q()
    if country_id is not None:
        place_filter &= Q(country_id=country_id)
    if series is not None:
        keys = {(country, place) for country, _, place in series}
        if len(keys) > MAX_KEYS_IN_QUERY or any(place is None for _, place in keys):
            place_filter &= Q(country_id__in={country for country, _ in keys})
        else:
            condition = Q()
            for country, place in sorted(keys):
                condition |= Q(country_id=country, place_key=place) | Q(country_id=country, place_key="")
            place_filter &= condition
    needed_codes = set().union(*(target.reads for target in targets)) if targets else set()
    needed_ids = [codes[code] for code in needed_codes if code in codes]
    mark = time.perf_counter()
    observations = _observation_frame(Observation.objects.approved().filter(place_filter, indicator_id__in=needed_ids))
    summary.observations = len(observations)
    timings["load"] = round(time.perf_counter() - mark, 3)

    mark = time.perf_counter()
    frames = []
    scope_rows = []
    for target in targets:
        rule_countries = {country.pk for country in target.rule.countries.all()} or None
        frame, basis = _input_series(target, observations, codes)
        frame = _scope_filter(target, frame, rule_countries)
        if series is not None and not (len(series) > MAX_KEYS_IN_QUERY):
            wanted = {(country, place) for country, _, place in series}
            if not any(place is None for _, place in wanted):
                # A national input (deflator, component) read for a place changes that place's series only,
                # and a national change changes the national series.
                mask = pd.Series(
                    list(zip(frame["country_id"], frame["place_key"], strict=True)), index=frame.index
                ).isin(wanted)
                frame = frame[mask]
        scored = _run_method(target, frame, as_of)
        # The scope whose old scores are replaced: this rule and indicator, in the places read.
        place_scope = _scope_places(series, country_id, rule_countries)
        for country, place in place_scope:
            scope_rows.append((target.rule.pk, target.indicator.pk, country, place))
        if scored.empty:
            continue
        scored = scored.assign(
            rule_id=target.rule.pk,
            method=target.rule.method,
            indicator_id=target.indicator.pk,
            pillar=target.indicator.pillar,
            frequency=target.indicator.frequency,
            basis=basis,
            lookback=int(
                (target.rule.parameters or {}).get("alert_lookback_months")
                or DEFAULT_LOOKBACK_MONTHS.get(target.indicator.frequency, 24)
            ),
        )
        frames.append(scored)
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*SERIES, "period"])
    timings["methods"] = round(time.perf_counter() - mark, 3)
    if not scores.empty:
        scores["period_start"] = pd.to_datetime(scores["period_start"])
        scores = _attach_places(scores, observations)
    summary.scores = len(scores)
    summary.series = int(scores[SERIES].drop_duplicates().shape[0]) if len(scores) else 0

    with transaction.atomic():
        mark = time.perf_counter()
        changed, deleted = _write_scores(scores, scope_rows, since)
        summary.scores_changed, summary.scores_deleted = changed, deleted
        timings["write_scores"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        _write_series_states(scores, scope_rows)
        timings["write_states"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        notify_ids = _converge_alerts(scores, scope_rows, since, summary)
        timings["alerts"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        regional_ids = regional.regional_compute(
            indicator_ids={target.indicator.pk for target in targets if target.rule.method == Method.IFPA},
            cereal=changed_indicator_ids is None
            or bool(changed_indicator_ids & {codes.get(code) for code in regional.CEREAL_CODES}),
            since=since,
            summary=summary,
        )
        timings["regional"] = round(time.perf_counter() - mark, 3)
        if notify and (notify_ids or regional_ids):
            transaction.on_commit(lambda: notifications.send_digests(alert_ids=notify_ids, regional_ids=regional_ids))
            summary.notifications = len(notify_ids) + len(regional_ids)
    summary.alerts_open = Alert.objects.open().count()
    summary.seconds = round(time.perf_counter() - started, 3)
    logger.info("alerts computed: %s", summary.as_dict())
    return summary


def _scope_places(
    series: list[SeriesKey] | None, country_id: int | None, rule_countries: set[int] | None
) -> list[tuple[int | None, str | None]]:
    """(country, place) pairs a run replaces; None = every country / every place."""
    if series is None:
        if country_id is not None:
            return [(country_id, None)]
        return [(None, None)]
    if len(series) > MAX_KEYS_IN_QUERY or any(place is None for _, _, place in series):
        return sorted({(country, None) for country, _, _ in series})
    return sorted({(country, place) for country, _, place in series})


def _attach_places(scores: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """region_id and market_id of each place key (derived series inherit them from their components)."""
    places = observations[["country_id", "place_key", "region_id", "market_id"]].drop_duplicates(KEYS)
    return scores.merge(places, on=KEYS, how="left")


# ---------------------------------------------------------------------------------------- writing scores

SCORE_WRITE_COLUMNS = [
    "rule_id",
    "method",
    "indicator_id",
    "country_id",
    "region_id",
    "market_id",
    "place_key",
    "period",
    "period_start",
    "value",
    "score",
    "method_class",
    "level",
    "insufficient_reason",
    "inputs",
    "computed_at",
]
SCORE_COMPARED = ["value", "score", "method_class", "level", "insufficient_reason", "region_id", "market_id"]


def _score_table(scores: pd.DataFrame) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "rule_id": scores["rule_id"].astype("int64"),
            "method": scores["method"],
            "indicator_id": scores["indicator_id"].astype("int64"),
            "country_id": scores["country_id"].astype("int64"),
            "region_id": scores["region_id"].astype("Int64"),
            "market_id": scores["market_id"].astype("Int64"),
            "place_key": scores["place_key"],
            "period": scores["period"],
            "period_start": scores["period_start"].dt.strftime("%Y-%m-%d"),
            "value": scores["value"].astype(float).round(10),
            "score": scores["score"].astype(float).round(10),
            "method_class": scores["method_class"].fillna(""),
            "level": scores["level"].astype("Float64").astype("Int64"),
            "insufficient_reason": scores["insufficient_reason"].fillna(""),
        }
    )
    basis = scores["basis"].fillna("")
    table["inputs"] = np.where(basis == "", "{}", '{"prices": "' + basis + '"}')
    table["computed_at"] = timezone.now().isoformat()
    return table


def _create_temp_tables(cursor) -> None:
    cursor.execute("DROP TABLE IF EXISTS tmp_alert_scope")
    cursor.execute("DROP TABLE IF EXISTS tmp_alert_score")
    cursor.execute(
        "CREATE TEMPORARY TABLE tmp_alert_scope (rule_id bigint, indicator_id bigint, country_id bigint, "
        "place_key varchar(80), since date)"
    )
    json_type = "jsonb" if connection.vendor == "postgresql" else "text"
    cursor.execute(
        "CREATE TEMPORARY TABLE tmp_alert_score (rule_id bigint, method varchar(30), indicator_id bigint, "
        "country_id bigint, region_id bigint, market_id bigint, place_key varchar(80), period varchar(7), "
        f"period_start date, value double precision, score double precision, method_class varchar(40), "
        f"level smallint, insufficient_reason varchar(200), inputs {json_type}, computed_at timestamp with time zone)"
    )


def _load_temp(cursor, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
    if frame.empty:
        return
    if connection.vendor == "postgresql":
        buffer = frame[columns].to_csv(index=False, header=False, na_rep="\\N")
        raw = cursor.cursor if hasattr(cursor, "cursor") else cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer)
    else:
        rows = frame[columns].astype(object).where(frame[columns].notna(), None).itertuples(index=False, name=None)
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", list(rows))


def _write_scores(scores: pd.DataFrame, scope_rows: list, since: date | None) -> tuple[int, int]:
    """Upsert the run's scores (rewriting only rows that changed) and delete the scope's other scores."""
    table = Score._meta.db_table
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    scope = pd.DataFrame(scope_rows, columns=["rule_id", "indicator_id", "country_id", "place_key"]).drop_duplicates()
    scope["since"] = since.isoformat() if since else None
    rows = _score_table(scores) if len(scores) else pd.DataFrame(columns=SCORE_WRITE_COLUMNS)
    if since is not None and len(rows):
        rows = rows[rows["period_start"] >= since.isoformat()]
    with connection.cursor() as cursor:
        _create_temp_tables(cursor)
        _load_temp(cursor, "tmp_alert_scope", scope, ["rule_id", "indicator_id", "country_id", "place_key", "since"])
        _load_temp(cursor, "tmp_alert_score", rows, SCORE_WRITE_COLUMNS)
        # The anti-join that deletes vanished scores looks rows up by their natural key (built after the load).
        cursor.execute(
            "CREATE INDEX tmp_alert_score_key ON tmp_alert_score (rule_id, indicator_id, country_id, place_key, period)"
        )
        cursor.execute("ANALYZE tmp_alert_score")
        columns = ", ".join(SCORE_WRITE_COLUMNS)
        updates = ", ".join(f"{column} = excluded.{column}" for column in [*SCORE_COMPARED, "inputs", "computed_at"])
        changed_condition = " OR ".join(f"{table}.{column} {distinct} excluded.{column}" for column in SCORE_COMPARED)
        inputs_changed = f"{table}.inputs {distinct} excluded.inputs"
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM tmp_alert_score WHERE true "
            f"ON CONFLICT (rule_id, indicator_id, country_id, place_key, period) DO UPDATE SET {updates} "
            f"WHERE {changed_condition} OR {inputs_changed}"
        )
        changed = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT s.id FROM {table} s JOIN tmp_alert_scope c "
            "ON s.rule_id = c.rule_id AND s.indicator_id = c.indicator_id "
            "AND (c.country_id IS NULL OR s.country_id = c.country_id) "
            "AND (c.place_key IS NULL OR s.place_key = c.place_key) "
            "AND (c.since IS NULL OR s.period_start >= c.since) "
            "WHERE NOT EXISTS (SELECT 1 FROM tmp_alert_score t WHERE t.rule_id = s.rule_id "
            "AND t.indicator_id = s.indicator_id AND t.country_id = s.country_id AND t.place_key = s.place_key "
            "AND t.period = s.period))"
        )
        deleted = cursor.rowcount
    return changed, deleted


def _series_latest(scores: pd.DataFrame) -> pd.DataFrame:
    """The latest period of each series among the rows that raise alerts (monthly IFPA, not its means)."""
    rows = scores[scores["raises_alert"].astype(bool)]
    if rows.empty:
        return rows
    order = rows.sort_values([*SERIES, "period_start"])
    return order.drop_duplicates(SERIES, keep="last")


def _write_series_states(scores: pd.DataFrame, scope_rows: list) -> None:
    latest = _series_latest(scores) if len(scores) else scores
    scope_q = _scope_q(scope_rows)
    existing = set(SeriesState.objects.filter(scope_q).values_list(*SERIES)) if scope_rows else set()
    new_states = []
    for row in latest.itertuples(index=False):
        level = None if pd.isna(row.level) else int(row.level)
        new_states.append(
            SeriesState(
                rule_id=int(row.rule_id),
                indicator_id=int(row.indicator_id),
                pillar=row.pillar,
                country_id=int(row.country_id),
                place_key=row.place_key,
                period=row.period,
                period_start=row.period_start.date(),
                level=level,
                insufficient_reason=row.insufficient_reason or "",
            )
        )
    if new_states:
        SeriesState.objects.bulk_create(
            new_states,
            update_conflicts=True,
            unique_fields=SERIES,
            update_fields=["pillar", "period", "period_start", "level", "insufficient_reason", "computed_at"],
            batch_size=1000,
        )
    kept = {(s.rule_id, s.indicator_id, s.country_id, s.place_key) for s in new_states}
    gone = existing - kept
    for rule_id, indicator_id, country_id, place_key in gone:
        SeriesState.objects.filter(
            rule_id=rule_id, indicator_id=indicator_id, country_id=country_id, place_key=place_key
        ).delete()


def _scope_q(scope_rows: list, since: date | None = None) -> Q:
    condition = Q()
    for rule_id, indicator_id, country, place in {tuple(row) for row in scope_rows}:
        part = Q(rule_id=rule_id, indicator_id=indicator_id)
        if country is not None:
            part &= Q(country_id=country)
        if place is not None:
            part &= Q(place_key=place)
        condition |= part
    if not scope_rows:
        return Q(pk__in=[])
    if since is not None:
        condition &= Q(period_start__gte=since)
    return condition


# ------------------------------------------------------------------------------------------------ alerts


def _place_names(scores: pd.DataFrame) -> dict[tuple[int, str], tuple[str, str]]:
    """(country_id, place_key) -> (English name, Russian name)."""
    names: dict[tuple[int, str], tuple[str, str]] = {}
    countries = {c.pk: c for c in Country.objects.all()}
    for pk, country in countries.items():
        names[(pk, "")] = (country.name_en, country.name_ru)
    region_codes = {key for key in scores["place_key"].unique() if key and not key.startswith("market:")}
    for region in Region.objects.filter(code__in=region_codes):
        names[(region.country_id, region.code)] = (region.name_en, getattr(region, "name_ru", "") or region.name_en)
    market_ids = {int(m) for m in scores["market_id"].dropna().unique()}
    for market in Market.objects.filter(pk__in=market_ids):
        name_ru = getattr(market, "name_ru", "") or market.name
        names[(market.country_id, f"market:{market.code}")] = (market.name, name_ru)
    return names


def _candidates(scores: pd.DataFrame) -> pd.DataFrame:
    """Score rows at level >= 1 that raise alerts."""
    if scores.empty:
        return scores
    rows = scores[scores["raises_alert"].astype(bool) & (scores["level"].astype(float) >= 1)]
    return rows


def _within_lookback(scores: pd.DataFrame, candidates: pd.DataFrame) -> pd.Series:
    """True for candidate periods within the rule's look-back of the series' latest observed period."""
    observed = scores[scores["raises_alert"].astype(bool) & (scores["insufficient_reason"] != Insufficient.STALE)]
    latest = observed.groupby(SERIES)["period_start"].max().rename("latest_start")
    merged = candidates[SERIES + ["period_start", "lookback"]].merge(
        latest, left_on=SERIES, right_index=True, how="left"
    )
    months_back = (merged["latest_start"].dt.year - merged["period_start"].dt.year) * 12 + (
        merged["latest_start"].dt.month - merged["period_start"].dt.month
    )
    return pd.Series((months_back < merged["lookback"]).to_numpy(), index=candidates.index)


def _last_normal(scores: pd.DataFrame) -> pd.DataFrame:
    """Per series, the latest period scored normal (level 0): alerts before it have cleared."""
    normal = scores[scores["raises_alert"].astype(bool) & (scores["level"].astype(float) == 0)]
    return normal.groupby(SERIES)["period_start"].max().rename("last_normal").reset_index()


def _message_params(rows: pd.DataFrame, names: dict, indicators: dict[int, Indicator]) -> list[dict]:
    params = []
    for row in rows.itertuples(index=False):
        indicator = indicators[int(row.indicator_id)]
        place_en, place_ru = names.get((int(row.country_id), row.place_key), (row.place_key, row.place_key))
        entry = {
            "subject_en": indicator.name_en,
            "subject_ru": indicator.name_ru,
            "place_en": place_en,
            "place_ru": place_ru,
            "value": None if pd.isna(row.value) else round(float(row.value), 4),
            "unit": indicator.unit,
            "prices": row.basis or "",
        }
        annual_growth = getattr(row, "annual_growth", np.nan)
        if not pd.isna(annual_growth):
            entry["annual_growth_pct"] = round(((1 + float(annual_growth)) ** 12 - 1) * 100, 2)
        deviation = getattr(row, "deviation_pct", np.nan)
        if not pd.isna(deviation):
            entry["deviation_pct"] = round(float(deviation), 2)
        if row.method == Method.TREND:
            entry["rises"] = int(row.score)
        params.append(entry)
    return params


def _inputs(rows: pd.DataFrame) -> list[dict]:
    extra = [
        c
        for c in ("quarterly_growth", "annual_growth", "seasonal_norm", "deviation_pct", "history_centre", "flag")
        if c in rows
    ]
    result = []
    for row in rows[["value", "basis", *extra]].itertuples(index=False):
        entry = {"value": None if pd.isna(row.value) else float(row.value)}
        if row.basis:
            entry["prices"] = row.basis
        for name in extra:
            item = getattr(row, name)
            if isinstance(item, str):
                if item:
                    entry[name] = item
            elif not pd.isna(item):
                entry[name] = round(float(item), 8)
        result.append(entry)
    return result


def _converge_alerts(scores: pd.DataFrame, scope_rows: list, since: date | None, summary: ComputeSummary) -> list[int]:
    """Bring the alert table in line with the scores. Returns the ids of alerts to notify about: raised
    or escalated to warning or above in this run and still open."""
    now = timezone.now()
    existing = pd.DataFrame.from_records(
        list(
            Alert.objects.filter(_scope_q(scope_rows, since)).values_list(
                "id", *SERIES, "period", "period_start", "level", "status", "score", "method_class"
            )
        ),
        columns=["id", *SERIES, "period", "period_start", "old_level", "status", "old_score", "old_class"],
    )
    existing["period_start"] = pd.to_datetime(existing["period_start"])
    candidates = _candidates(scores) if len(scores) else scores
    if since is not None and len(candidates):
        candidates = candidates[candidates["period_start"] >= pd.Timestamp(since)]
    if len(candidates):
        existing_keys = (
            existing.set_index(ALERT_KEY).index if len(existing) else pd.MultiIndex.from_tuples([], names=ALERT_KEY)
        )
        known = pd.MultiIndex.from_frame(candidates[ALERT_KEY]).isin(existing_keys)
        candidates = candidates[known | _within_lookback(scores, candidates).to_numpy()]
    merged = (
        candidates.merge(existing, on=ALERT_KEY, how="outer", indicator=True, suffixes=("", "_old"))
        if len(candidates)
        else existing.assign(_merge="right_only")
    )
    last_normal = _last_normal(scores) if len(scores) else pd.DataFrame(columns=[*SERIES, "last_normal"])
    if len(merged):
        merged = merged.merge(last_normal, on=SERIES, how="left")
        start = (
            merged["period_start"]
            if "period_start_old" not in merged
            else merged["period_start"].fillna(merged["period_start_old"])
        )
        merged["cleared"] = merged["last_normal"].notna() & (
            pd.to_datetime(start) < pd.to_datetime(merged["last_normal"])
        )

    indicators = {i.pk: i for i in Indicator.objects.all()}
    names = _place_names(scores) if len(scores) else {}
    events: list[AlertEvent] = []
    notify: list[int] = []

    # New alerts: raised now (and resolved at once when a later period is already normal).
    new = merged[merged["_merge"] == "left_only"] if len(merged) else merged
    if len(new):
        params = _message_params(new, names, indicators)
        inputs = _inputs(new)
        objects = []
        for row, message, used in zip(new.itertuples(index=False), params, inputs, strict=True):
            cleared = bool(row.cleared)
            objects.append(
                Alert(
                    rule_id=int(row.rule_id),
                    method=row.method,
                    indicator_id=int(row.indicator_id),
                    pillar=row.pillar,
                    country_id=int(row.country_id),
                    region_id=None if pd.isna(row.region_id) else int(row.region_id),
                    market_id=None if pd.isna(row.market_id) else int(row.market_id),
                    place_key=row.place_key,
                    period=row.period,
                    period_start=row.period_start.date(),
                    score=None if pd.isna(row.score) else float(row.score),
                    method_class=row.method_class,
                    level=int(row.level),
                    inputs=used,
                    message_params=message,
                    status=Alert.Status.RESOLVED if cleared else Alert.Status.OPEN,
                    resolved_at=now if cleared else None,
                    resolution_note="cleared: a later period is normal" if cleared else "",
                )
            )
        created = Alert.objects.bulk_create(objects, batch_size=1000)
        for alert in created:
            events.append(AlertEvent(alert=alert, kind=AlertEvent.Kind.RAISED, to_level=alert.level))
            if alert.status == Alert.Status.RESOLVED:
                events.append(
                    AlertEvent(
                        alert=alert,
                        kind=AlertEvent.Kind.RESOLVED,
                        from_level=alert.level,
                        to_level=alert.level,
                        note="condition cleared on recompute",
                    )
                )
                summary.alerts_resolved += 1
            elif alert.level >= 2:
                notify.append(alert.pk)
        summary.alerts_raised += len(created)

    # Existing alerts still raised: update when something changed; escalation and de-escalation recorded.
    both = merged[merged["_merge"] == "both"] if len(merged) else merged
    if len(both):
        level_changed = both["level"].astype(int) != both["old_level"].astype(int)
        score_changed = ~np.isclose(
            both["score"].astype(float), both["old_score"].astype(float), rtol=0, atol=1e-9, equal_nan=True
        )
        class_changed = both["method_class"] != both["old_class"]
        clears = both["cleared"] & (both["status"] != Alert.Status.RESOLVED)
        changed = both[level_changed | score_changed | class_changed | clears]
        if len(changed):
            params = _message_params(changed, names, indicators)
            inputs = _inputs(changed)
            updated = []
            newly_resolved: set[int] = set()
            for row, message, used in zip(changed.itertuples(index=False), params, inputs, strict=True):
                alert = Alert(pk=int(row.id))
                alert.level = int(row.level)
                alert.score = None if pd.isna(row.score) else float(row.score)
                alert.method_class = row.method_class
                alert.inputs = used
                alert.message_params = message
                alert.status = row.status
                old_level = int(row.old_level)
                if alert.level > old_level:
                    events.append(
                        AlertEvent(
                            alert=alert, kind=AlertEvent.Kind.ESCALATED, from_level=old_level, to_level=alert.level
                        )
                    )
                    summary.alerts_escalated += 1
                    if row.status == Alert.Status.RESOLVED and not row.cleared:
                        alert.status = Alert.Status.OPEN
                        events.append(
                            AlertEvent(
                                alert=alert, kind=AlertEvent.Kind.REOPENED, from_level=old_level, to_level=alert.level
                            )
                        )
                    if alert.level >= 2 and alert.status != Alert.Status.RESOLVED and not row.cleared:
                        notify.append(alert.pk)
                elif alert.level < old_level:
                    events.append(
                        AlertEvent(
                            alert=alert, kind=AlertEvent.Kind.DEESCALATED, from_level=old_level, to_level=alert.level
                        )
                    )
                    summary.alerts_deescalated += 1
                if row.cleared and alert.status != Alert.Status.RESOLVED:
                    newly_resolved.add(alert.pk)
                    alert.status = Alert.Status.RESOLVED
                    alert.resolved_at = now
                    alert.resolution_note = "cleared: a later period is normal"
                    events.append(
                        AlertEvent(
                            alert=alert,
                            kind=AlertEvent.Kind.RESOLVED,
                            from_level=alert.level,
                            to_level=alert.level,
                            note="condition cleared on recompute",
                        )
                    )
                    summary.alerts_resolved += 1
                alert.updated_at = now
                updated.append(alert)
            _bulk_update_alerts(updated, newly_resolved)

    # Alerts whose period is no longer at level >= 1 (revised data, or the rule changed): resolved.
    gone = (
        merged[(merged["_merge"] == "right_only") & (merged["status"] != Alert.Status.RESOLVED)]
        if len(merged)
        else merged
    )
    if len(gone):
        ids = [int(pk) for pk in gone["id"]]
        Alert.objects.filter(pk__in=ids).update(
            status=Alert.Status.RESOLVED,
            resolved_at=now,
            resolution_note="cleared: the period is no longer above normal",
            updated_at=now,
        )
        levels = dict(zip(gone["id"].astype(int), gone["old_level"].astype(int), strict=True))
        for pk in ids:
            events.append(
                AlertEvent(
                    alert_id=pk,
                    kind=AlertEvent.Kind.RESOLVED,
                    from_level=levels[pk],
                    to_level=0,
                    note="condition cleared on recompute",
                )
            )
        summary.alerts_resolved += len(ids)
    AlertEvent.objects.bulk_create(events, batch_size=2000)
    return sorted(set(notify))


def _bulk_update_alerts(updated: list[Alert], newly_resolved: set[int]) -> None:
    """Write the changed alerts; what the lifecycle services recorded (acknowledgement, a person's
    resolution) is left untouched."""
    fields = ["level", "score", "method_class", "inputs", "message_params", "status", "updated_at"]
    resolving = [alert for alert in updated if alert.pk in newly_resolved]
    others = [alert for alert in updated if alert.pk not in newly_resolved]
    if others:
        Alert.objects.bulk_update(others, fields, batch_size=500)
    if resolving:
        Alert.objects.bulk_update(resolving, [*fields, "resolved_at", "resolution_note"], batch_size=500)
