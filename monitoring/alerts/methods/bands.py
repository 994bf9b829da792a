"""Threshold bands on survey and ratio indicators, and the consecutive-rise rule.

Sources (METHODS.md section 3): WHO/UNICEF 2018 prevalence bands for wasting and stunting (de Onis et al.
2019); WFP CARI for the food expenditure share; FAO for the prevalence of undernourishment, which is never
published below 2.5% (stored as the bound '<' 2.5, never as a measured 2.5).
"""

import numpy as np
import pandas as pd

from monitoring.alerts.methods.common import Insufficient, classify_by_bounds, empty_scores

# (upper bound, class, level); the last band has no upper bound. Bands are lower <= x < upper.
WASTING_BANDS = [(2.5, "very low", 0), (5, "low", 0), (10, "medium", 1), (15, "high", 2), (None, "very high", 3)]
STUNTING_BANDS = [(2.5, "very low", 0), (10, "low", 0), (20, "medium", 1), (30, "high", 2), (None, "very high", 3)]
# WFP CARI food expenditure share: < 50, 50-<65, 65-<75, >= 75 %.
FOOD_EXPENDITURE_BANDS = [(50, "low", 0), (65, "medium", 1), (75, "high", 2), (None, "very high", 3)]


def _intervals(values: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, low_open, high_open): the interval a value stands for. '<' v means (-inf, v),
    '>' v means (v, inf); measured and estimated values are the point [v, v]."""
    below = flags == "<"
    above = flags == ">"
    low = np.where(below, -np.inf, values)
    high = np.where(above, np.inf, values)
    return low, high, above, below


def band_scores(observations: pd.DataFrame, *, keys: list[str], bands: list) -> pd.DataFrame:
    """Class and level of every value by the bands; a bound gets a level only when every value it allows
    falls in bands of the same level (e.g. wasting '<2.5' is 'very low', level 0), else 'insufficient:
    bound'. The score is the value itself (a bound is kept as a bound in `flag`, not as the score)."""
    if observations.empty:
        return empty_scores(keys)
    bands = [(None if upper is None else float(upper), name, int(level)) for upper, name, level in bands]
    values = observations["value"].to_numpy(dtype=float)
    flags = (
        observations["flag"].fillna("").to_numpy(dtype=object) if "flag" in observations else np.full(len(values), "")
    )
    low, high, _, high_open = _intervals(values, flags)
    measured = (flags != "<") & (flags != ">")

    classes, levels = classify_by_bounds(values, bands)
    # For '<' v the highest possible band is the band just below v; for '>' v the lowest is band(v).
    top_value = np.where(high_open, np.nextafter(high, -np.inf), high)
    _, top_levels = classify_by_bounds(np.where(np.isinf(top_value), 1e300, top_value), bands)
    _, bottom_levels = classify_by_bounds(np.where(np.isinf(low), -1e300, low), bands)
    top_classes, _ = classify_by_bounds(np.where(np.isinf(top_value), 1e300, top_value), bands)
    determined = bottom_levels == top_levels
    bound_classes = np.where(flags == "<", top_classes, classes)

    frame = observations[keys].reset_index(drop=True).copy()
    frame["period"] = observations["period"].to_numpy()
    frame["period_start"] = observations["period_start"].to_numpy()
    frame["value"] = values
    frame["score"] = np.where(measured, values, np.nan)
    frame["method_class"] = np.where(measured, classes, np.where(determined, bound_classes, ""))
    frame["level"] = np.where(measured, levels, np.where(determined, top_levels, np.nan))
    frame["insufficient_reason"] = np.where(measured | determined, "", Insufficient.BOUND)
    frame["raises_alert"] = True
    frame["flag"] = flags
    return frame


def rise_scores(observations: pd.DataFrame, *, keys: list[str], consecutive: int = 2) -> pd.DataFrame:
    """Rising for `consecutive` consecutive years is a watch (FAO PoU, METHODS.md section 3).

    Score = the number of consecutive year-on-year rises ending at the period. A rise is known only when
    the intervals allow no doubt: '<2.5' followed by 3.1 is a rise; '<2.5' then '<2.5' is not known
    (insufficient: bound); a missing year in between is a gap."""
    if observations.empty:
        return empty_scores(keys)
    frame = observations.sort_values([*keys, "period_start"]).reset_index(drop=True)
    values = frame["value"].to_numpy(dtype=float)
    flags = frame["flag"].fillna("").to_numpy(dtype=object) if "flag" in frame else np.full(len(values), "")
    low, high, low_open, high_open = _intervals(values, flags)
    group = frame.groupby(keys, sort=False).ngroup().to_numpy()
    years = pd.to_datetime(frame["period_start"]).dt.year.to_numpy()

    same_series = np.zeros(len(frame), dtype=bool)
    same_series[1:] = group[1:] == group[:-1]
    adjacent = np.zeros(len(frame), dtype=bool)
    adjacent[1:] = same_series[1:] & (years[1:] - years[:-1] == 1)
    prev_high = np.r_[np.nan, high[:-1]]
    prev_low = np.r_[np.nan, low[:-1]]
    prev_high_open = np.r_[False, high_open[:-1]]
    # prev < current is certain when the previous interval ends before the current one begins.
    rose = adjacent & ((prev_high < low) | ((prev_high == low) & (prev_high_open | low_open)))
    not_rose = adjacent & (prev_low >= high)
    unknown = adjacent & ~rose & ~not_rose

    rises = np.zeros(len(frame))
    state = np.full(len(frame), "", dtype=object)  # reason the count is unknown at this period
    count = 0.0
    reason = ""
    # One pass in period order: the run length depends on the previous period (series are short, annual).
    for index in range(len(frame)):
        if not same_series[index]:
            count, reason = 0.0, Insufficient.TOO_SHORT
        elif not adjacent[index]:
            count, reason = 0.0, Insufficient.GAP
        elif unknown[index]:
            count, reason = 0.0, Insufficient.BOUND
        elif rose[index]:
            count = count + 1 if reason == "" else 1.0
            reason = ""
        else:
            count, reason = 0.0, ""
        rises[index] = count
        state[index] = reason

    scored = state == ""
    result = frame[keys].copy()
    result["period"] = frame["period"].to_numpy()
    result["period_start"] = frame["period_start"].to_numpy()
    result["value"] = values
    result["score"] = np.where(scored, rises, np.nan)
    result["method_class"] = np.where(scored, np.where(rises >= consecutive, "rising", "not rising"), "")
    result["level"] = np.where(scored, np.where(rises >= consecutive, 1.0, 0.0), np.nan)
    result["insufficient_reason"] = state
    result["raises_alert"] = True
    result["flag"] = flags
    return result
