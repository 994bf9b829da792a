"""FAO's Indicator of Food Price Anomalies (IFPA), SDG indicator 2.c.1.

Source: UN SDG metadata 02-0c-01 (FAO, 2021); the weights as applied by the UK ONS for 2.c.1.
Implemented as written in METHODS.md section 1, vectorised over every series at once: the series are
stacked into a (series x months) matrix, so the weighted history of each calendar month is a cumulative
sum along the year axis instead of a loop.
"""

from datetime import date

import numpy as np
import pandas as pd

from monitoring.alerts.methods.common import (
    Insufficient,
    as_of_month,
    classify_by_bounds,
    empty_scores,
    month_start,
    month_text,
    monthly_matrix,
)

# METHODS.md IFPA step 6: >= 1 abnormally high; 0.5 <= x < 1 moderately high; -0.5 <= x < 0.5 normal.
# Below -0.5 "low" is this system's own class, not FAO's (level 0).
IFPA_BANDS: list[tuple[float | None, str, int]] = [
    (-0.5, "low", 0),
    (0.5, "normal", 0),
    (1.0, "moderately high", 1),
    (None, "abnormally high", 2),
]
DEFAULT_PARAMETERS = {
    "min_history_years": 4,  # step 7: at least 4 earlier years for the month (5 years of series)
    "max_gap_months": 3,  # step 7: more than 3 consecutive missing months are not scored across
    "quarterly_weight": 0.4,  # step 4: IFPA = 0.4 QIFPA + 0.6 AIFPA
    "annual_weight": 0.6,
    "history_start_year": None,  # None: every earlier year; METHODS step 10 uses 2004
    "stale_months": 2,  # GIEWS freshness rule: last observation older than 2 months is stale
    "annual_min_months": 12,  # step 5: the annual value is the mean of the 12 monthly values
}
# A weighted variance this small relative to the mean square of the rates is rounding noise: sd = 0.
ZERO_VARIANCE_TOLERANCE = 1e-10


def segments(observed: np.ndarray, max_gap_months: int) -> np.ndarray:
    """Segment number of each observed month (-1 where missing): a new segment starts after a run of
    more than `max_gap_months` missing months, and no growth rate is computed across two segments."""
    months = observed.shape[1]
    column = np.broadcast_to(np.arange(months), observed.shape)
    last_seen = np.where(observed, column, -1)
    last_seen = np.maximum.accumulate(last_seen, axis=1)
    previous_seen = np.full(observed.shape, -1)
    previous_seen[:, 1:] = last_seen[:, :-1]
    starts_segment = observed & (previous_seen >= 0) & (column - previous_seen - 1 > max_gap_months)
    segment = np.cumsum(starts_segment, axis=1)
    return np.where(observed, segment, -1)


def compound_growth(prices: np.ndarray, segment: np.ndarray, lag: int) -> np.ndarray:
    """Geometric compound growth rate over `lag` months: (P[t]/P[t-lag])**(1/lag) - 1 (step 1)."""
    earlier = np.full(prices.shape, np.nan)
    earlier[:, lag:] = prices[:, :-lag]
    earlier_segment = np.full(segment.shape, -2)
    earlier_segment[:, lag:] = segment[:, :-lag]
    valid = (segment >= 0) & (segment == earlier_segment) & (prices > 0) & (earlier > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = np.power(prices / earlier, 1.0 / lag) - 1.0
    return np.where(valid, growth, np.nan)


def weighted_anomaly(
    rates: np.ndarray, *, min_history_years: int, history_years_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rate - weighted mean) / weighted sd over the same calendar month of every earlier year (steps 2-3).

    The k-th oldest of the N earlier years with a value weighs k / (N(N+1)/2); the weighted sd is
    sqrt(sum w (x-mu)^2 / (sum w * (N-1)/N)). Returns (z, N, zero_variance) shaped like `rates`."""
    series, months = rates.shape
    by_year = rates.reshape(series, months // 12, 12)
    usable = ~np.isnan(by_year) & history_years_mask[None, :, None]
    rank = np.cumsum(usable, axis=1) * usable  # k of each usable year, counting oldest first
    x = np.where(usable, by_year, 0.0)

    def before(values: np.ndarray) -> np.ndarray:
        # Sums over the years strictly before each target year: the target year is excluded (step 2).
        total = np.cumsum(values, axis=1)
        shifted = np.zeros_like(total)
        shifted[:, 1:, :] = total[:, :-1, :]
        return shifted

    count = before(usable.astype(float))
    weight_sum = before(rank.astype(float))  # = N(N+1)/2, so the weights k/(N(N+1)/2) sum to one
    first_moment = before(rank * x)
    second_moment = before(rank * x * x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = first_moment / weight_sum
        mean_square = second_moment / weight_sum
        variance = np.maximum(mean_square - mean * mean, 0.0)
        sd = np.sqrt(variance / ((count - 1) / count))
        zero_variance = (count >= min_history_years) & (variance <= ZERO_VARIANCE_TOLERANCE * mean_square)
        z = (by_year - mean) / sd
    z = np.where((count >= min_history_years) & ~zero_variance, z, np.nan)
    shape = (series, months)
    return z.reshape(shape), count.reshape(shape), zero_variance.reshape(shape)


def ifpa_scores(
    observations: pd.DataFrame,
    *,
    keys: list[str],
    min_history_years: int = 4,
    max_gap_months: int = 3,
    quarterly_weight: float = 0.4,
    annual_weight: float = 0.6,
    history_start_year: int | None = None,
    stale_months: int = 2,
    annual_min_months: int = 12,
    as_of: date | None = None,
) -> pd.DataFrame:
    """Monthly, quarterly and annual IFPA of every monthly series in `observations`.

    Monthly rows raise alerts; quarterly and annual rows (the means of the monthly values) are kept as
    scores. A series whose last observation is more than `stale_months` before `as_of` gets a 'stale'
    row for the month of `as_of`."""
    if observations.empty:
        return empty_scores(keys)
    matrix = monthly_matrix(observations, keys)
    prices = matrix.values
    observed = ~np.isnan(prices)
    segment = segments(observed, max_gap_months)
    quarterly_rate = compound_growth(prices, segment, 3)
    annual_rate = compound_growth(prices, segment, 12)

    years = matrix.first_month // 12 + np.arange(matrix.years)
    history_mask = years >= history_start_year if history_start_year else np.ones(matrix.years, dtype=bool)
    quarterly_z, quarterly_n, quarterly_zero = weighted_anomaly(
        quarterly_rate, min_history_years=min_history_years, history_years_mask=history_mask
    )
    annual_z, annual_n, annual_zero = weighted_anomaly(
        annual_rate, min_history_years=min_history_years, history_years_mask=history_mask
    )
    monthly = quarterly_weight * quarterly_z + annual_weight * annual_z

    # Why each observed month has no value, in order of precedence.
    column = np.arange(matrix.months)[None, :]
    first_seen = np.argmax(observed, axis=1)[:, None]
    no_rate = np.isnan(quarterly_rate) | np.isnan(annual_rate)
    reason = np.full(prices.shape, "", dtype=object)
    reason[no_rate & (column - first_seen >= 12)] = Insufficient.GAP
    reason[no_rate & (column - first_seen < 12)] = Insufficient.TOO_SHORT
    short = ~no_rate & ((quarterly_n < min_history_years) | (annual_n < min_history_years))
    reason[short] = Insufficient.TOO_SHORT
    reason[~no_rate & ~short & (quarterly_zero | annual_zero)] = Insufficient.ZERO_VARIANCE
    reason[~observed] = ""

    rows, cols = np.nonzero(observed)
    monthly_frame = _frame(
        matrix.keys,
        rows,
        matrix.first_month + cols,
        period=month_text(matrix.first_month + cols),
        value=prices[rows, cols],
        score=monthly[rows, cols],
        reason=reason[rows, cols],
        raises_alert=True,
    )
    monthly_frame["quarterly_growth"] = quarterly_rate[rows, cols]
    monthly_frame["annual_growth"] = annual_rate[rows, cols]

    frames = [monthly_frame]
    for months_per_period, label in ((3, "quarter"), (12, "year")):
        frames.append(_aggregate(matrix, monthly, observed, reason, months_per_period, label, annual_min_months))
    if as_of is not None:
        frames.append(_stale_rows(matrix, observed, as_of, stale_months))
    frame = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    return frame


def _frame(keys, rows, month_indices, *, period, value, score, reason, raises_alert) -> pd.DataFrame:
    frame = keys.iloc[rows].reset_index(drop=True)
    classes, levels = classify_by_bounds(score, IFPA_BANDS)
    frame["period"] = period
    frame["period_start"] = month_start(month_indices)
    frame["value"] = value
    frame["score"] = score
    frame["method_class"] = classes
    frame["level"] = levels
    frame["insufficient_reason"] = np.where(np.isnan(score), reason, "")
    frame["raises_alert"] = raises_alert
    return frame


def _aggregate(matrix, monthly, observed, reason, months_per_period, label, annual_min_months) -> pd.DataFrame:
    """Quarterly (3) or annual (12) IFPA: the mean of the monthly IFPA values of the period (step 5)."""
    series, months = monthly.shape
    periods = months // months_per_period
    values = monthly.reshape(series, periods, months_per_period)
    seen = observed.reshape(series, periods, months_per_period).any(axis=2)
    scored = np.isfinite(values).sum(axis=2)
    needed = months_per_period if months_per_period == 3 else annual_min_months
    with np.errstate(invalid="ignore"):
        mean = np.where(scored >= needed, np.nanmean(np.where(scored[..., None] > 0, values, 0.0), axis=2), np.nan)
    # The reason of a period without a value: its months' own reason when they share one, else incomplete.
    period_reasons = reason.reshape(series, periods, months_per_period)
    has_reason = period_reasons != ""
    first = np.argmax(has_reason, axis=2)[..., None]
    first_reason = np.where(
        has_reason.any(axis=2), np.take_along_axis(period_reasons, first, axis=2)[..., 0], Insufficient.INCOMPLETE
    )
    rows, cols = np.nonzero(seen)
    start_month = matrix.first_month + cols * months_per_period
    if label == "quarter":
        years, quarter0 = np.divmod(start_month, 12)
        period = np.array([f"{year:04d}-Q{q // 3 + 1}" for year, q in zip(years, quarter0, strict=True)], dtype=object)
    else:
        period = np.array([f"{year:04d}" for year in start_month // 12], dtype=object)
    frame = _frame(
        matrix.keys,
        rows,
        start_month,
        period=period,
        value=np.full(len(rows), np.nan),
        score=mean[rows, cols],
        reason=first_reason[rows, cols] if len(rows) else np.array([], dtype=object),
        raises_alert=False,
    )
    return frame


def _stale_rows(matrix, observed, as_of: date, stale_months: int) -> pd.DataFrame:
    """One 'stale' row, for the month of `as_of`, per series whose last observation is too old."""
    target = as_of_month(as_of)
    last_seen = matrix.first_month + matrix.months - 1 - np.argmax(observed[:, ::-1], axis=1)
    stale = target - last_seen > stale_months
    rows = np.nonzero(stale)[0]
    months = np.full(len(rows), target)
    frame = _frame(
        matrix.keys,
        rows,
        months,
        period=month_text(months),
        value=np.full(len(rows), np.nan),
        score=np.full(len(rows), np.nan),
        reason=np.full(len(rows), Insufficient.STALE, dtype=object),
        raises_alert=True,
    )
    frame["last_period"] = month_text(last_seen[rows])
    return frame


def real_prices(food: pd.DataFrame, general: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Food index divided by the general CPI of the same month and place (METHODS.md IFPA step 9).

    Months without a general CPI are dropped: a real price needs both."""
    merged = food.merge(
        general[[*keys, "period_start", "value"]], on=[*keys, "period_start"], how="inner", suffixes=("", "_general")
    )
    merged = merged[merged["value_general"] > 0]
    merged["value"] = merged["value"] / merged["value_general"]
    return merged.drop(columns=["value_general"])
