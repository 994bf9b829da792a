"""Anomaly against a series' own history (DHIS2-style outlier detection).

Source: DHIS2 outlier detection (dhis2-core, analytics.outlier), METHODS.md section 4:
z-score |x - mean| / sd; modified z-score 0.6745 |x - median| / MAD; an outlier when the score is
strictly above the threshold (default 3.0); sd = 0 or MAD = 0 gives score 0. Here the history of a value
is the series' earlier values (for seasonal monthly series: the same calendar month in earlier years),
so a value is judged against what was known before it.
"""

import numpy as np
import pandas as pd

from monitoring.alerts.methods.common import Insufficient, empty_scores

MODIFIED_Z_CONSTANT = 0.6745  # Iglewicz and Hoaglin (1993), as used by DHIS2
DEFAULT_PARAMETERS = {"threshold": 3.0, "min_history": 4, "seasonal": True}


def _history_scores(values: np.ndarray, *, modified: bool, min_history: int) -> tuple[np.ndarray, np.ndarray]:
    """Score of each value against the values before it (a short series: a plain loop is clearest)."""
    scores = np.full(len(values), np.nan)
    centres = np.full(len(values), np.nan)
    for index in range(min_history, len(values)):
        history = values[:index]
        history = history[~np.isnan(history)]
        if len(history) < min_history or np.isnan(values[index]):
            continue
        if modified:
            centre = np.median(history)
            spread = np.median(np.abs(history - centre))
            score = 0.0 if spread == 0 else MODIFIED_Z_CONSTANT * abs(values[index] - centre) / spread
        else:
            centre = history.mean()
            spread = history.std()  # population sd, as DHIS2's z-score outlier detection
            score = 0.0 if spread == 0 else abs(values[index] - centre) / spread
        scores[index], centres[index] = score, centre
    return scores, centres


def anomaly_scores(
    observations: pd.DataFrame,
    *,
    keys: list[str],
    modified: bool = True,
    threshold: float = 3.0,
    min_history: int = 4,
    seasonal: bool = True,
    frequency: str = "annual",
) -> pd.DataFrame:
    """z-score (or modified z-score) of every value against its own earlier history; strictly above
    `threshold` is an outlier, a 'watch' (level 1). Fewer than `min_history` earlier values: too short."""
    if observations.empty:
        return empty_scores(keys)
    frame = observations.sort_values([*keys, "period_start"]).reset_index(drop=True)
    group_keys = list(keys)
    if seasonal and frequency in ("monthly", "quarterly"):
        frame["_calendar_month"] = pd.to_datetime(frame["period_start"]).dt.month
        group_keys.append("_calendar_month")
    flags = frame["flag"].fillna("").to_numpy(dtype=object) if "flag" in frame else np.full(len(frame), "")
    values = np.where(np.isin(flags, ["<", ">"]), np.nan, frame["value"].to_numpy(dtype=float))

    scores = np.full(len(frame), np.nan)
    centres = np.full(len(frame), np.nan)
    for _, positions in frame.groupby(group_keys, sort=False).indices.items():
        group_scores, group_centres = _history_scores(values[positions], modified=modified, min_history=min_history)
        scores[positions] = group_scores
        centres[positions] = group_centres

    is_bound = np.isin(flags, ["<", ">"])
    outlier = scores > threshold  # strictly above (DHIS2)
    result = frame[keys].copy()
    result["period"] = frame["period"].to_numpy()
    result["period_start"] = frame["period_start"].to_numpy()
    result["value"] = frame["value"].to_numpy(dtype=float)
    result["score"] = scores
    result["method_class"] = np.where(np.isnan(scores), "", np.where(outlier, "outlier", "normal"))
    result["level"] = np.where(np.isnan(scores), np.nan, np.where(outlier, 1.0, 0.0))
    result["insufficient_reason"] = np.where(
        np.isnan(scores), np.where(is_bound, Insufficient.BOUND, Insufficient.TOO_SHORT), ""
    )
    result["raises_alert"] = True
    result["history_centre"] = centres
    return result
