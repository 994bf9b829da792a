"""The alert engine: approved observations in, scores, alerts, series states and regional alerts out.

One run: read the approved observations the active rules read (on PostgreSQL a full run reads an
indicator at a time, in a thread, while the methods score the ones read before: `reads`), and, in one
transaction, run each rule's method over all its series at once (pandas/numpy, `methods/`) and
converge the tables on their natural keys, rule by rule: a series' scores are rewritten only when they
changed and the series that no longer exist are deleted; alerts follow their lifecycle (raised,
escalated, de-escalated, resolved when a later period is normal); last, the regional rules. A second run
with the same data changes nothing, which is what makes the Celery tasks safe to redeliver.

A rule's writes are queued (`writes.QueuedWrites`) as soon as its series are scored: PostgreSQL stores
them while the next rule's method runs.
"""

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
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
from monitoring.alerts.models import Alert, AlertEvent, AlertRule, Level, Method, ScoreSeries, SeriesState
from monitoring.alerts.reads import ObservationReader, indicator_copy_frame
from monitoring.alerts.series_rows import WRITE_COLUMNS as SERIES_WRITE_COLUMNS
from monitoring.alerts.series_rows import SeriesRows, series_rows
from monitoring.alerts.series_rows import copy_chunks as series_copy_chunks
from monitoring.alerts.series_rows import python_rows as series_python_rows
from monitoring.alerts.writes import QueuedWrites
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
    """Approved observations as a DataFrame; on PostgreSQL through COPY, an indicator per row
    (`reads.indicator_copy_frame`), several times faster than building a million Python tuples."""
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
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. no active rule reads any indicator: nothing to load
        return _typed_frame(pd.DataFrame(columns=columns))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            frame = indicator_copy_frame(cursor.cursor if hasattr(cursor, "cursor") else cursor, sql, params)
    else:
        frame = pd.DataFrame.from_records(list(queryset), columns=columns)
    return _typed_frame(frame)


def _typed_frame(frame: pd.DataFrame) -> pd.DataFrame:
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


def _input_series(
    target: RuleTarget, observations: ObservationReader, codes: dict[str, int]
) -> tuple[pd.DataFrame, str]:
    """The series a rule scores for one indicator: entered values, or derived from the components'
    values; food CPI deflated by the general CPI when the rule says so. Returns (frame, price basis)."""
    indicator = target.indicator
    empty = pd.DataFrame(columns=[*KEYS, "period", "period_start", "value", "flag"])
    if indicator.formula:
        component_ids = {codes[code]: code for code in formula_codes(indicator.formula) if code in codes}
        parts = [observations[pk].assign(code=code) for pk, code in component_ids.items() if pk in observations]
        frame = derive(pd.concat(parts, ignore_index=True), formula=indicator.formula, keys=KEYS) if parts else empty
    else:
        frame = observations.get(indicator.pk, empty)
    frame = frame[[*KEYS, "period", "period_start", "value", "flag"]]
    deflator = (target.rule.parameters or {}).get("deflate_by")
    if deflator and deflator in codes:
        general = observations.get(codes[deflator], empty)
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
    regional_since: date | None = None,
) -> ComputeSummary:
    """One run of the engine (see the module docstring). Called by `services.alerts_compute` only.

    `regional_since`: on an incremental run, the first period whose values changed; FAO's share rule is
    re-evaluated from there on (an IFPA value depends on its own and earlier months only)."""
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
    # The indicators to read, in the order the targets need them.
    needed_ids = [
        codes[code]
        for target in targets
        for code in sorted(target.reads, key=lambda code: (code != target.indicator.code, code))
        if code in codes
    ]
    approved = Observation.objects.approved().filter(place_filter)

    # The scope whose old scores are replaced: each rule and indicator, in the places read.
    scope_rows = [
        (target.rule.pk, target.indicator.pk, country, place)
        for target in targets
        for country, place in _scope_places(series, country_id, _rule_countries(target))
    ]
    for phase in ("methods", "scores_compare", "scores_copy", "alerts"):
        timings[phase] = 0.0

    outermost = not connection.in_atomic_block
    # A full run that is its own transaction reads in a thread, on a connection of its own (`reads`).
    observations = ObservationReader(
        lambda ids: _observation_frame(approved.filter(indicator_id__in=ids)),
        needed_ids,
        threaded=connection.vendor == "postgresql" and outermost and series is None,
    )
    with observations, transaction.atomic(), QueuedWrites(COPY_TYPES) as writes:
        if connection.vendor == "postgresql" and outermost:
            # Scores, states and alerts are derived, and every run converges on them again: the run need not
            # wait for its log to reach the disk. A crash in that instant loses this run only (the next one
            # redoes it); the writes of people (approvals, acknowledgements) keep the server's setting, and so
            # does a caller's own transaction around a run.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        # Each rule's series and alerts are queued for storing as soon as they are scored: PostgreSQL stores
        # them while the next rule's method runs.
        store = _SeriesStore(scope_rows, writes, timings)
        stored_alerts = _StoredAlerts(scope_rows, since)
        now = timezone.now()
        notify_ids: list[int] = []
        # On a full run FAO's share rule reads the run's IFPA scores from memory.
        share_since = max(filter(None, [since, regional_since]), default=None)
        ifpa_scores_of: list[tuple[int, pd.DataFrame]] | None = [] if series is None and country_id is None else None
        for target in targets:
            read_ids = [codes[code] for code in target.reads if code in codes]
            for pk in read_ids:  # wait for the target's indicators (timed as "load", not "methods")
                observations.get(pk)
            mark = time.perf_counter()
            scored = _target_scores(target, observations, codes, series, as_of)
            timings["methods"] += time.perf_counter() - mark
            if scored.empty:
                continue
            written = store.add(scored, observations.places(read_ids))
            summary.scores += len(scored)
            if ifpa_scores_of is not None and target.rule.method == Method.IFPA:
                ifpa_scores_of.append((target.indicator.pk, scored))
            if written.changed:
                mark = time.perf_counter()
                # Alerts depend on their series' scores only: a series whose scores did not change keeps its alerts.
                notify_ids += _converge_alerts(written, stored_alerts, since, summary, writes, now)
                timings["alerts"] += time.perf_counter() - mark
        mark = time.perf_counter()
        removed = store.finish(summary)
        if removed:
            notify_ids += _converge_alerts(WrittenSeries(removed=removed), stored_alerts, since, summary, writes, now)
        summary.scores_changed, summary.scores_deleted = store.scores_changed, len(removed)
        affected = [*store.changed, *removed]
        timings["finish"] = round(time.perf_counter() - mark, 3)
        mark = time.perf_counter()
        ifpa_rules = {rule.pk for rule in rules if rule.method == Method.IFPA}
        share_indicators = {indicator for rule, indicator, _, _ in affected if rule in ifpa_rules}
        country_levels = (
            [
                regional.country_ifpa_levels_of(scored, {indicator}, share_since)
                for indicator, scored in ifpa_scores_of
                if indicator in share_indicators
            ]
            if ifpa_scores_of
            else None
        )
        regional_ids = regional.regional_compute(
            indicator_ids=share_indicators,
            cereal=changed_indicator_ids is None
            or bool(changed_indicator_ids & {codes.get(code) for code in regional.CEREAL_CODES}),
            since=share_since,
            summary=summary,
            country_levels=regional.country_levels_merged(country_levels) if country_levels else None,
            scored_pairs={(target.rule.pk, target.indicator.pk) for target in targets},
        )
        timings["regional"] = time.perf_counter() - mark
        timings["load"] = observations.waited
        for phase in ("load", "methods", "scores_compare", "scores_copy", "alerts", "regional"):
            timings[phase] = round(timings[phase], 3)
        notify_ids = sorted({*notify_ids, *(_raised_to_notify(now) if summary.alerts_raised else [])})
        if notify and (notify_ids or regional_ids):
            transaction.on_commit(lambda: notifications.send_digests(alert_ids=notify_ids, regional_ids=regional_ids))
            summary.notifications = len(notify_ids) + len(regional_ids)
        mark = time.perf_counter()
    timings["commit"] = round(time.perf_counter() - mark, 3)
    summary.observations = observations.count  # the reading thread has stopped
    # Of the phases above, the time spent waiting for PostgreSQL to store what they queued.
    timings["waited_for_writes"] = round(writes.waited, 3)
    summary.alerts_open = Alert.objects.open().count()
    summary.seconds = round(time.perf_counter() - started, 3)
    logger.info("alerts computed: %s", summary.as_dict())
    return summary


def _rule_countries(target: RuleTarget) -> set[int] | None:
    return {country.pk for country in target.rule.countries.all()} or None


def _target_scores(
    target: RuleTarget, observations: ObservationReader, codes: dict, series: list[SeriesKey] | None, as_of: date
) -> pd.DataFrame:
    """One rule's scores on one indicator's series, with the rule's and the indicator's columns."""
    rule_countries = _rule_countries(target)
    frame, basis = _input_series(target, observations, codes)
    frame = _scope_filter(target, frame, rule_countries)
    if series is not None and not (len(series) > MAX_KEYS_IN_QUERY):
        wanted = {(country, place) for country, _, place in series}
        if not any(place is None for _, place in wanted):
            # A national input (deflator, component) read for a place changes that place's series only,
            # and a national change changes the national series.
            mask = pd.Series(list(zip(frame["country_id"], frame["place_key"], strict=True)), index=frame.index).isin(
                wanted
            )
            frame = frame[mask]
    scored = _run_method(target, frame, as_of)
    if scored.empty:
        return scored
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
    scored["period_start"] = pd.to_datetime(scored["period_start"])
    # Texts as plain object columns (free: pandas' "str" columns hold Python strings already): pandas
    # factorizes and compares them about twice as fast, and the writers factorize several of them.
    return scored.astype({name: object for name, dtype in scored.dtypes.items() if isinstance(dtype, pd.StringDtype)})


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


# ---------------------------------------------------------------------------------------- writing scores

# What a series' fingerprint covers: when none of it changed, the series' row is left alone. Its periods'
# columns, and the columns that are the same on every period of a series.
FINGERPRINT_COLUMNS = ["period", "value", "score", "method_class", "level", "insufficient_reason"]
FINGERPRINT_SERIES_COLUMNS = ["region_id", "market_id", "basis"]
FNV_PRIME = np.uint64(1099511628211)


def _value_hashes(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return pd.util.hash_array(values.astype(float).round(10).to_numpy())
    return pd.util.hash_array(values.astype(object).where(values.notna(), None).to_numpy())


def _fingerprints(rows: SeriesRows) -> list[str]:
    """A 64-bit fingerprint (hex) of each series' score rows, in series order. Texts are hashed through
    their distinct values (a few hundred periods, classes and reasons among millions of rows)."""
    scores = rows.scores
    combined = np.zeros(len(scores), dtype=np.uint64)
    for column in FINGERPRINT_COLUMNS:
        values = scores[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            hashes = _value_hashes(values)
        else:
            codes, uniques = rows.codes(column)
            hashes = pd.util.hash_array(np.r_[np.asarray(uniques, dtype=object), [None]])[codes]  # -1: None
        combined = combined * FNV_PRIME ^ hashes  # FNV-style mixing
    fingerprints = np.bitwise_xor.reduceat(combined[rows.order], rows.starts[:-1])
    first = rows.first_rows
    for column in FINGERPRINT_SERIES_COLUMNS:
        fingerprints = fingerprints * FNV_PRIME ^ _value_hashes(first[column])
    return [f"{value:016x}" for value in fingerprints]


def _series_keys(rows: SeriesRows) -> list[tuple]:
    first = rows.first_rows
    return list(
        zip(
            first["rule_id"].astype("int64").tolist(),
            first["indicator_id"].astype("int64").tolist(),
            first["country_id"].astype("int64").tolist(),
            first["place_key"].astype(object).tolist(),
            strict=True,
        )
    )


# PostgreSQL types of the columns the engine bulk-loads (binary COPY needs them).
COPY_TYPES = {
    "rule_id": "int8", "indicator_id": "int8", "country_id": "int8", "region_id": "int8", "market_id": "int8",
    "method": "varchar", "pillar": "varchar", "place_key": "varchar", "period": "varchar", "method_class": "varchar",
    "insufficient_reason": "varchar", "status": "varchar", "acknowledgement_note": "text", "resolution_note": "text",
    "period_start": "date", "score": "float8", "level": "int2", "inputs": "jsonb", "message_params": "jsonb",
    "computed_at": "timestamptz", "raised_at": "timestamptz", "updated_at": "timestamptz", "resolved_at": "timestamptz",
}  # fmt: skip


def _series_delete(cursor, model) -> None:
    """Delete the rows of `model` (a table keyed by series) whose series are in `tmp_replaced_series`."""
    table = model._meta.db_table
    cursor.execute(
        f"DELETE FROM {table} WHERE id IN (SELECT s.id FROM {table} s JOIN tmp_replaced_series t "
        "ON s.rule_id = t.rule_id AND s.indicator_id = t.indicator_id AND s.country_id = t.country_id "
        "AND s.place_key = t.place_key)"
    )


def _series_remove(writes: QueuedWrites, keys: list[tuple], *models) -> None:
    """Queue deleting the rows of `models` (tables keyed by series) of the series `keys`, through a
    temporary table of the keys."""

    def create(cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS tmp_replaced_series")
        cursor.execute(
            "CREATE TEMPORARY TABLE tmp_replaced_series (rule_id bigint, indicator_id bigint, country_id bigint, "
            "place_key varchar(80))"
        )

    writes.submit(create)
    writes.load("tmp_replaced_series", pd.DataFrame(keys, columns=SERIES), SERIES)
    for model in models:
        writes.submit(lambda cursor, model=model: _series_delete(cursor, model))


@dataclass
class WrittenSeries:
    """The series a rule's run changed (their keys and score rows) or removed (keys), and the first row of
    each of the rule's series. `series_code` numbers the run's series (the index of `first_rows`)."""

    changed: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_rows: pd.DataFrame = field(default_factory=pd.DataFrame)


class _SeriesStore:
    """Converges the run's scope on its scored series, a rule's series at a time: `add` queues the writes
    of the series a method just scored, so that PostgreSQL stores them while the next method runs;
    `finish` removes the series that vanished and updates the series states.

    A series whose fingerprint is unchanged is not touched (the nightly recompute writes almost nothing);
    a changed series has its row replaced, whole (the methods always read its whole history); a series that
    vanished (its values were withdrawn, the rule no longer applies) loses its row and state."""

    def __init__(self, scope_rows: list, writes: QueuedWrites, timings: dict):
        scope = _scope_q(scope_rows)
        self.existing = {
            (rule_id, indicator_id, country_id, place_key): fingerprint
            for rule_id, indicator_id, country_id, place_key, fingerprint in ScoreSeries.objects.filter(
                scope
            ).values_list(*SERIES, "fingerprint")
        }
        # A state without its series row (left from before series rows existed) goes with the vanished series.
        self.states = set(SeriesState.objects.filter(scope).values_list(*SERIES))
        self.writes, self.timings = writes, timings
        self.now = timezone.now()
        self.keys: set[tuple] = set()
        self.series_count = 0
        self.changed: list[tuple] = []
        self.scores_changed = 0
        self.latest: list[pd.DataFrame] = []

    def add(self, scored: pd.DataFrame, places: pd.DataFrame) -> WrittenSeries:
        """Number, place and fingerprint the series of `scored` (in place: `series_code`, `region_id`,
        `market_id`, `stale`; `places`: the region and market of each place the series' input names), and
        queue the writes of those that changed; returns them."""
        mark = time.perf_counter()
        rows = series_rows(scored)
        codes = np.empty(len(scored), dtype=np.int64)
        codes[rows.order] = np.repeat(np.arange(rows.series_count), np.diff(rows.starts))
        # The region and market of each series' place (a derived series inherits them from its components).
        places = scored[KEYS].iloc[rows.order[rows.starts[:-1]]].merge(places, on=KEYS, how="left")
        scored["region_id"] = places["region_id"].to_numpy()[codes]
        scored["market_id"] = places["market_id"].to_numpy()[codes]
        scored["series_code"] = codes + self.series_count
        first_rows = rows.first_rows.set_axis(np.arange(rows.series_count) + self.series_count)
        self.series_count += rows.series_count
        fingerprints = _fingerprints(rows)
        # Whether each period went stale (for `_candidates`), from the codes of the reasons fingerprinted.
        reason_codes, reasons = rows.codes("insufficient_reason")
        stale_code = list(reasons).index(Insufficient.STALE) if Insufficient.STALE in reasons else -2  # -1: none
        scored["stale"] = reason_codes == stale_code
        keys = _series_keys(rows)
        self.keys.update(keys)
        changes = np.array(
            [self.existing.get(key) != fingerprint for key, fingerprint in zip(keys, fingerprints, strict=True)],
            dtype=bool,
        )
        changed = [key for key, change in zip(keys, changes, strict=True) if change]
        self.timings["scores_compare"] += time.perf_counter() - mark
        if not changed:
            return WrittenSeries()
        mark = time.perf_counter()
        if len(changed) < len(keys):
            rows = rows.subset(changes)
            fingerprints = [fingerprint for fingerprint, change in zip(fingerprints, changes, strict=True) if change]
            scored = scored[changes[codes]]  # the changed series' rows
        replaced = [key for key in changed if key in self.existing]
        if replaced:
            _series_remove(self.writes, replaced, ScoreSeries)
        _series_insert(self.writes, _series_payload(rows, fingerprints, self.now))
        self.latest.append(_series_latest(rows))
        self.changed += changed
        self.scores_changed += len(scored)
        self.timings["scores_copy"] += time.perf_counter() - mark
        return WrittenSeries(changed=changed, scores=scored, first_rows=first_rows)

    def finish(self, summary: ComputeSummary) -> list[tuple]:
        """Queue the removal of the series that vanished and the states' update; returns the removed keys."""
        summary.series = self.series_count
        removed = sorted((self.existing.keys() | self.states) - self.keys)
        if removed:
            _series_remove(self.writes, removed, ScoreSeries, SeriesState)
        if self.latest:
            _write_states(self.writes, pd.concat(self.latest, ignore_index=True), self.now)
        return removed


def _series_payload(rows: SeriesRows, fingerprints: list[str], now) -> Iterator[bytes] | list[tuple]:
    """The series rows as the database loads them: binary COPY data on PostgreSQL (chunks, encoded as the
    COPY takes them), tuples elsewhere."""
    bases = rows.first_rows["basis"].fillna("").tolist()
    inputs = [json.dumps({"prices": basis}) if basis else "{}" for basis in bases]
    if connection.vendor == "postgresql":
        return series_copy_chunks(rows, inputs, fingerprints, now)
    return series_python_rows(rows, inputs, fingerprints, connection.ops.adapt_datetimefield_value(now))


def _series_insert(writes: QueuedWrites, payload: Iterator[bytes] | list[tuple]) -> None:
    table = ScoreSeries._meta.db_table
    columns = ", ".join(SERIES_WRITE_COLUMNS)
    if isinstance(payload, list):
        placeholders = ", ".join(["%s"] * len(SERIES_WRITE_COLUMNS))
        statement = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
        writes.submit(lambda cursor: cursor.executemany(statement, payload))
    else:
        writes.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)", payload)


def scores_store(scores: pd.DataFrame) -> int:
    """Write score rows (the columns of `Score`, plus `basis`: 'nominal', 'real' or '') as series rows,
    replacing those series' rows; for benchmarks and tests that need scores without running the methods.
    Returns the number of series written. Series states and alerts are left as they are."""
    defaults = {"region_id": None, "market_id": None, "value": np.nan, "score": np.nan, "method_class": "",
                "level": np.nan, "insufficient_reason": "", "basis": ""}  # fmt: skip
    if scores.empty:
        return 0
    scores = scores.assign(**{name: value for name, value in defaults.items() if name not in scores})
    scores["period_start"] = pd.to_datetime(scores["period_start"])
    rows = series_rows(scores)
    keys = _series_keys(rows)
    payload = _series_payload(rows, _fingerprints(rows), timezone.now())
    with transaction.atomic(), QueuedWrites(COPY_TYPES) as writes:
        _series_remove(writes, keys, ScoreSeries)
        _series_insert(writes, payload)
    return len(keys)


STATE_COLUMNS = [
    *SERIES, "pillar", "period", "period_start", "level", "insufficient_reason", "computed_at",
]  # fmt: skip


def _write_states(writes: QueuedWrites, latest: pd.DataFrame, now) -> None:
    """Queue the upsert of the series states (each series' latest period) through a temporary table."""
    if latest.empty:
        return
    frame = pd.DataFrame(
        {
            "rule_id": latest["rule_id"].astype("int64"),
            "indicator_id": latest["indicator_id"].astype("int64"),
            "country_id": latest["country_id"].astype("int64"),
            "place_key": latest["place_key"],
            "pillar": latest["pillar"],
            "period": latest["period"],
            "period_start": latest["period_start"],
            "level": latest["level"].astype("Float64").astype("Int64"),
            "insufficient_reason": latest["insufficient_reason"].fillna(""),
            "computed_at": pd.Timestamp(now),
        }
    )

    def create(cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS tmp_series_state")
        cursor.execute(
            "CREATE TEMPORARY TABLE tmp_series_state (rule_id bigint, indicator_id bigint, country_id bigint, "
            "place_key varchar(80), pillar varchar(20), period varchar(7), period_start date, level smallint, "
            "insufficient_reason varchar(200), computed_at timestamp with time zone)"
        )

    def upsert(cursor) -> None:
        columns = ", ".join(STATE_COLUMNS)
        updates = ", ".join(f"{column} = excluded.{column}" for column in STATE_COLUMNS[len(SERIES) :])
        # WHERE true: SQLite's parser needs it before ON CONFLICT in an INSERT ... SELECT.
        cursor.execute(
            f"INSERT INTO {SeriesState._meta.db_table} ({columns}) SELECT {columns} FROM tmp_series_state "
            f"WHERE true ON CONFLICT (rule_id, indicator_id, country_id, place_key) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE tmp_series_state")

    writes.submit(create)
    writes.load("tmp_series_state", frame, STATE_COLUMNS)
    writes.submit(upsert)


def _series_latest(rows: SeriesRows) -> pd.DataFrame:
    """The latest period of each series among the rows that raise alerts (monthly IFPA, not its means)."""
    positions = np.flatnonzero(rows.column("raises_alert").astype(bool))
    if not len(positions):
        return rows.scores.iloc[0:0]
    series_of = np.repeat(np.arange(rows.series_count), np.diff(rows.starts))[positions]
    last = positions[np.r_[series_of[1:] != series_of[:-1], True]]
    return rows.scores.iloc[rows.order[last]]


def _scope_q(scope_rows: list) -> Q:
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
    return condition


# ------------------------------------------------------------------------------------------------ alerts


def _place_names() -> dict[tuple[int, str], tuple[str, str]]:
    """(country_id, place_key) -> (English name, Russian name), for every state, region and market."""
    names: dict[tuple[int, str], tuple[str, str]] = {}
    for country in Country.objects.all():
        names[(country.pk, "")] = (country.name_en, country.name_ru)
    for region in Region.objects.all():
        names[(region.country_id, region.code)] = (region.name_en, getattr(region, "name_ru", "") or region.name_en)
    for market in Market.objects.all():
        name_ru = getattr(market, "name_ru", "") or market.name
        names[(market.country_id, f"market:{market.code}")] = (market.name, name_ru)
    return names


def _candidates(scores: pd.DataFrame, existing: pd.DataFrame, since: date | None) -> pd.DataFrame:
    """Score rows that raise an alert: level >= 1 in a period that raises alerts (from `since` on), within
    the rule's look-back of the series' latest observed period (not stale), or already an alert. Selected
    with numpy on the whole frame (most of its millions of rows are not candidates), then copied once.
    `scores`: as `_SeriesStore.add` leaves them (`series_code`, `stale`)."""
    raises = scores["raises_alert"].astype(bool).to_numpy()
    period_start = scores["period_start"].to_numpy()
    mask = raises & (scores["level"].astype(float).to_numpy() >= 1)
    if since is not None:
        mask &= period_start >= np.datetime64(since)
    positions = np.flatnonzero(mask)
    codes = scores["series_code"].to_numpy()
    observed = raises & ~scores["stale"].to_numpy(dtype=bool)
    latest = pd.Series(period_start[observed]).groupby(codes[observed]).max()
    latest_start = latest.reindex(codes[positions]).to_numpy().astype("datetime64[M]")
    months_back = (latest_start - period_start[positions].astype("datetime64[M]")).astype(float)
    # Nothing observed in the series, or a period without a start: no look-back, no alert.
    months_back[np.isnat(latest_start) | np.isnat(period_start[positions])] = np.nan
    keep = months_back < scores["lookback"].to_numpy()[positions]
    if len(existing):
        known = pd.MultiIndex.from_frame(scores.iloc[positions][ALERT_KEY]).isin(existing.set_index(ALERT_KEY).index)
        keep |= known
    return scores.iloc[positions[keep]]


def _last_normal(scores: pd.DataFrame) -> pd.Series:
    """Per series (by `series_code`), the latest period scored normal (level 0): alerts before it have
    cleared."""
    normal = scores["raises_alert"].to_numpy(dtype=bool) & (scores["level"].to_numpy(dtype=float) == 0)
    starts = pd.Series(scores["period_start"].to_numpy()[normal])
    return starts.groupby(scores["series_code"].to_numpy()[normal]).max()


def _json_members(name: str, values: list | np.ndarray, *, keep_null: bool = False) -> list[str | None]:
    """`"name": value` JSON texts of one column (None where the value is missing and not kept). A float
    array is written a column at a time (json.dumps writes a finite float as its repr); other values each
    as json.dumps writes them, distinct ones encoded once (alert columns repeat a handful of names, units
    and classes)."""
    missing = f'"{name}": null' if keep_null else None
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        members = np.array([f'"{name}": {number!r}' for number in values.tolist()], dtype=object)
        members[~np.isfinite(values)] = missing  # JSON has no NaN or infinity
        return members.tolist()
    encoded: dict = {}
    members = []
    for value in values:
        if value is None or isinstance(value, float) and not math.isfinite(value):
            members.append(missing)
            continue
        key = (type(value), value)  # 1 and True are equal keys, not the same JSON
        if (member := encoded.get(key)) is None:
            if isinstance(value, float):  # a numpy float too
                member = encoded[key] = f'"{name}": {float(value)!r}'
            else:
                member = encoded[key] = f'"{name}": {json.dumps(value, ensure_ascii=False)}'
        members.append(member)
    return members


def _json_objects(columns: list[list[str | None]]) -> list[str]:
    """JSON object texts, one per row, from member texts column by column (None: member left out)."""
    return ["{" + ", ".join(filter(None, members)) + "}" for members in zip(*columns, strict=True)]


def _rounded(values: pd.Series, digits: int | None) -> np.ndarray:
    """Numbers rounded half to even at `digits` decimals, as numpy rounds (None: as they are); missing
    ones NaN."""
    numbers = values.astype(float).to_numpy()
    return numbers if digits is None else np.round(numbers, digits)


def _codes_and_values(values: pd.Series) -> tuple[np.ndarray, list]:
    """A column as codes into its distinct values (missing: code -1)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


def _coded_members(name: str, codes: np.ndarray, values: list, *, keep_null: bool = False) -> list[str | None]:
    """`_json_members` of a column given as codes into its distinct `values` (each encoded once)."""
    encoded = np.array([*_json_members(name, values, keep_null=keep_null), None], dtype=object)  # -1: None
    return encoded[codes].tolist()


def _message_params(rows: pd.DataFrame, names: dict, indicators: dict[int, Indicator]) -> list[str]:
    """The sentence parameters of each alert (JSON text): what the sentence names, in both languages.
    Names and units are looked up once per distinct indicator and place (a rule has one indicator)."""
    indicator_codes, indicator_ids = pd.factorize(rows["indicator_id"].astype("int64"))
    subjects = [indicators[int(pk)] for pk in indicator_ids]
    place_codes, place_keys = pd.factorize(rows["place_key"])
    countries = rows["country_id"].astype("int64").to_numpy()
    codes, pairs = pd.factorize(countries * len(place_keys) + place_codes)  # a place key is a state's own
    places = [
        names.get((int(pair // len(place_keys)), place), (place, place))
        for pair, place in zip(pairs, place_keys[pairs % len(place_keys)], strict=True)
    ]
    basis_codes, bases = pd.factorize(rows["basis"].fillna(""))
    columns = [
        _coded_members("subject_en", indicator_codes, [indicator.name_en for indicator in subjects]),
        _coded_members("subject_ru", indicator_codes, [indicator.name_ru for indicator in subjects]),
        _coded_members("place_en", codes, [english for english, _russian in places]),
        _coded_members("place_ru", codes, [russian for _english, russian in places]),
        _json_members("value", _rounded(rows["value"], 4), keep_null=True),
        _coded_members("unit", indicator_codes, [indicator.unit for indicator in subjects]),
        _coded_members("prices", basis_codes, list(bases)),
    ]
    if "annual_growth" in rows:
        growth = rows["annual_growth"].astype(float)
        columns.append(_json_members("annual_growth_pct", _rounded(((1 + growth) ** 12 - 1) * 100, 2)))
    if "deviation_pct" in rows:
        columns.append(_json_members("deviation_pct", _rounded(rows["deviation_pct"], 2)))
    trend = (rows["method"] == Method.TREND).to_numpy()
    if trend.any():
        scores = rows["score"].astype(float).to_numpy()
        columns.append(
            _json_members(
                "rises", [int(score) if is_trend else None for score, is_trend in zip(scores, trend, strict=True)]
            )
        )
    return _json_objects(columns)


def _inputs(rows: pd.DataFrame) -> list[str]:
    """The values each alert was computed from (JSON text)."""
    columns = [
        _json_members("value", _rounded(rows["value"], None), keep_null=True),
        _coded_members("prices", *_codes_and_values(rows["basis"].replace("", None))),
    ]
    for name in ("quarterly_growth", "annual_growth", "seasonal_norm", "deviation_pct", "history_centre", "flag"):
        if name not in rows:
            continue
        if name == "flag":
            flags = rows[name].where(rows[name].notna() & (rows[name] != ""), None)
            columns.append(_coded_members(name, *_codes_and_values(flags)))
        else:
            columns.append(_json_members(name, _rounded(rows[name], 8)))
    return _json_objects(columns)


class _StoredAlerts:
    """The stored alerts of the run's scope, read when a series first changes (not before: the read waits
    for the writes queued before it; a run where nothing changed does not read them), with the indicators
    and the places' names the alert texts need."""

    COLUMNS = ["id", *SERIES, "period", "period_start", "old_level", "status", "old_score", "old_class"]

    def __init__(self, scope_rows: list, since: date | None):
        self.scope_rows, self.since = scope_rows, since
        self.frame: pd.DataFrame | None = None

    def _read(self) -> None:
        queryset = Alert.objects.filter(_scope_q(self.scope_rows))
        if self.since is not None:
            queryset = queryset.filter(period_start__gte=self.since)
        fields = ["id", *SERIES, "period", "period_start", "level", "status", "score", "method_class"]
        self.frame = pd.DataFrame.from_records(list(queryset.order_by().values_list(*fields)), columns=self.COLUMNS)
        self.frame["period_start"] = pd.to_datetime(self.frame["period_start"])
        self.series = pd.MultiIndex.from_frame(self.frame[SERIES])
        self.indicators = {indicator.pk: indicator for indicator in Indicator.objects.all()}
        self.names = _place_names()

    def of(self, keys: list[tuple]) -> pd.DataFrame:
        """The stored alerts of the series `keys`."""
        if self.frame is None:
            self._read()
        if not len(self.frame):
            return self.frame
        return self.frame[self.series.isin(keys)]


def _converge_alerts(
    written: WrittenSeries,
    stored: _StoredAlerts,
    since: date | None,
    summary: ComputeSummary,
    writes: QueuedWrites,
    now: datetime,
) -> list[int]:
    """Bring the alerts of the series `written` changed or removed in line with their scores. New alerts
    carry the run's time stamp `now`. Returns the ids of existing alerts escalated to warning or above and
    still open (to notify; the new ones are read by `_raised_to_notify`)."""
    existing = stored.of([*written.changed, *written.removed])
    scores = written.scores
    candidates = _candidates(scores, existing, since) if len(scores) else scores
    if not len(existing):  # a new series (every series on a first run): every candidate is new
        merged = candidates.assign(**{column: np.nan for column in existing.columns if column not in candidates})
        merged["_merge"] = "left_only"
    elif len(candidates):
        merged = candidates.merge(existing, on=ALERT_KEY, how="outer", indicator=True, suffixes=("", "_old"))
    else:
        merged = existing.assign(_merge="right_only")
    last_normal = _last_normal(scores) if len(scores) else pd.Series(dtype="datetime64[ns]")
    if len(merged) and not len(existing):  # every row is a candidate of a scored series
        merged["last_normal"] = last_normal.reindex(merged["series_code"].to_numpy()).to_numpy()
    elif len(merged):
        keyed = (
            written.first_rows.loc[last_normal.index.to_numpy(), SERIES].assign(last_normal=last_normal.to_numpy())
            if len(last_normal)
            else pd.DataFrame(columns=[*SERIES, "last_normal"])
        )
        merged = merged.merge(keyed, on=SERIES, how="left")
    if len(merged):
        start = (
            merged["period_start"]
            if "period_start_old" not in merged
            else merged["period_start"].fillna(merged["period_start_old"])
        )
        merged["cleared"] = merged["last_normal"].notna() & (
            pd.to_datetime(start) < pd.to_datetime(merged["last_normal"])
        )
    if len(existing) and len(merged):
        merged = _with_current_status(merged)

    indicators, names = stored.indicators, stored.names
    events: list[AlertEvent] = []
    notify: list[int] = []

    # New alerts: raised now (and resolved at once when a later period is already normal). Bulk-loaded
    # (COPY on PostgreSQL) with their events written by INSERT ... SELECT, keyed on this run's stamp.
    new = merged[merged["_merge"] == "left_only"] if len(merged) else merged
    if len(new):
        summary.alerts_raised += len(new)
        summary.alerts_resolved += int(new["cleared"].astype(bool).sum())
        _insert_new_alerts(new, names, indicators, now, writes)

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
                alert.inputs = json.loads(used)
                alert.message_params = json.loads(message)
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
                    alert.resolution_note = CLEARED_NOTE
                    events.append(
                        AlertEvent(
                            alert=alert,
                            kind=AlertEvent.Kind.RESOLVED,
                            from_level=alert.level,
                            to_level=alert.level,
                            note=RESOLVED_NOTE,
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
                    note=RESOLVED_NOTE,
                )
            )
        summary.alerts_resolved += len(ids)
    AlertEvent.objects.bulk_create(events, batch_size=2000)
    return sorted(set(notify))


STATUS_READ_BATCH = 5_000  # ids per query (SQLite takes at most 32,766 parameters)


def _with_current_status(merged: pd.DataFrame) -> pd.DataFrame:
    """The stored alerts' status read again, locked until the run commits: the run read them early, and a
    person may have acknowledged or resolved one since. So the run neither reverts that nor overwrites
    it. An alert deleted meanwhile (by an administrator) is left out."""
    stored = (merged["_merge"] != "left_only").to_numpy()
    ids = merged.loc[stored, "id"].astype("int64").tolist()
    current: dict[int, str] = {}
    for first in range(0, len(ids), STATUS_READ_BATCH):
        batch = ids[first : first + STATUS_READ_BATCH]
        current.update(Alert.objects.select_for_update().filter(pk__in=batch).values_list("pk", "status"))
    merged = merged.copy()
    merged.loc[stored, "status"] = merged.loc[stored, "id"].astype("int64").map(current)
    return merged[~stored | merged["status"].notna().to_numpy()]


ALERT_INSERT_COLUMNS = [
    "rule_id", "method", "indicator_id", "pillar", "country_id", "region_id", "market_id", "place_key", "period",
    "period_start", "score", "method_class", "level", "inputs", "message_params", "status", "raised_at",
    "updated_at", "acknowledgement_note", "resolved_at", "resolution_note",
]  # fmt: skip
CLEARED_NOTE = "cleared: a later period is normal"
RESOLVED_NOTE = "condition cleared on recompute"  # the event's note


ALERTS_PER_SLICE = 10_000


def _alert_rows(new: pd.DataFrame, names: dict, indicators: dict, stamp) -> pd.DataFrame:
    """New alerts as the rows of `ALERT_INSERT_COLUMNS`."""
    cleared = new["cleared"].astype(bool).to_numpy()
    return pd.DataFrame(
        {
            "rule_id": new["rule_id"].astype("int64").to_numpy(),
            "method": new["method"].to_numpy(),
            "indicator_id": new["indicator_id"].astype("int64").to_numpy(),
            "pillar": new["pillar"].to_numpy(),
            "country_id": new["country_id"].astype("int64").to_numpy(),
            "region_id": new["region_id"].astype("Int64").to_numpy(),
            "market_id": new["market_id"].astype("Int64").to_numpy(),
            "place_key": new["place_key"].to_numpy(),
            "period": new["period"].to_numpy(),
            "period_start": pd.to_datetime(new["period_start"]).to_numpy(),
            "score": new["score"].astype(float).to_numpy(),
            "method_class": new["method_class"].to_numpy(),
            "level": new["level"].astype(int).to_numpy(),
            "inputs": _inputs(new),
            "message_params": _message_params(new, names, indicators),
            "status": np.where(cleared, Alert.Status.RESOLVED, Alert.Status.OPEN),
            "raised_at": stamp,
            "updated_at": stamp,
            "acknowledgement_note": "",
            "resolved_at": np.where(cleared, stamp, None),
            "resolution_note": np.where(cleared, CLEARED_NOTE, ""),
        }
    )


def _insert_new_alerts(new: pd.DataFrame, names: dict, indicators: dict, now: datetime, writes: QueuedWrites) -> None:
    """Queue the new alerts, a slice at a time (PostgreSQL stores one slice while the next one's texts are
    built), then their 'raised' events, and the 'resolved' events of those resolved at once (a later period
    is already normal): an INSERT ... SELECT each, by rule and indicator (the alerts' unique index leads
    with them) and the run's stamp `now`."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    alerts = Alert._meta.db_table
    events = AlertEvent._meta.db_table
    for first in range(0, len(new), ALERTS_PER_SLICE):
        rows = _alert_rows(new.iloc[first : first + ALERTS_PER_SLICE], names, indicators, stamp)
        writes.load(alerts, rows, ALERT_INSERT_COLUMNS)
    pairs = new[["rule_id", "indicator_id"]].drop_duplicates().astype("int64").itertuples(index=False)
    for rule_id, indicator_id in pairs:
        raised = [rule_id, indicator_id, stamp]

        def raised_events(cursor, raised=raised) -> None:
            where = "rule_id = %s AND indicator_id = %s AND raised_at = %s"
            cursor.execute(
                f"INSERT INTO {events} (alert_id, kind, from_level, to_level, note, created_at) "
                f"SELECT id, %s, NULL, level, '', %s FROM {alerts} WHERE {where} ORDER BY id",
                [AlertEvent.Kind.RAISED.value, stamp, *raised],
            )
            cursor.execute(
                f"INSERT INTO {events} (alert_id, kind, from_level, to_level, note, created_at) "
                f"SELECT id, %s, level, level, %s, %s FROM {alerts} WHERE {where} AND status = %s ORDER BY id",
                [AlertEvent.Kind.RESOLVED.value, RESOLVED_NOTE, stamp, *raised, Alert.Status.RESOLVED.value],
            )

        writes.submit(raised_events)


def _raised_to_notify(now: datetime) -> list[int]:
    """The ids of the alerts raised at `now` (the run's stamp) that are open at warning or above."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Alert._meta.db_table} WHERE raised_at = %s AND status = %s AND level >= %s",
            [connection.ops.adapt_datetimefield_value(now), Alert.Status.OPEN, Level.WARNING],
        )
        return [row[0] for row in cursor.fetchall()]


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
