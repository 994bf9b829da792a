"""WFP's Alert for Price Spikes (ALPS).

Source: WFP Technical Guidance Note "Calculation and Use of the Alert for Price Spikes (ALPS) Indicator"
(2014), as written in METHODS.md section 2: ordinary least squares over the whole series with a linear
trend and 12 calendar-month dummies and no constant; ALPS = residual / sample sd of the residuals.

Vectorised: every series shares the same design matrix (trend + month dummies on one month grid), so the
normal equations of all series are built with two matrix products and solved as one stacked batch.
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

# WFP 2014: < 0.25 normal; 0.25 to < 1 stress; 1 to < 2 alert; >= 2 crisis.
ALPS_BANDS: list[tuple[float | None, str, int]] = [
    (0.25, "normal", 0),
    (1.0, "stress", 1),
    (2.0, "alert", 2),
    (None, "crisis", 3),
]
DEFAULT_PARAMETERS = {
    "min_years": 3,  # WFP: at least 3 years of data
    "min_coverage": 0.7,  # WFP: at least 70% of the months observed
    "stale_months": 2,  # GIEWS freshness rule
}
# Residuals this small relative to the prices are rounding noise: sd = 0.
ZERO_VARIANCE_TOLERANCE = 1e-20


def design_matrix(months: int, first_month: int) -> np.ndarray:
    """Trend (in years, centred for conditioning: the dummies absorb any shift) + 12 month dummies."""
    column = np.arange(months)
    trend = (column - months / 2) / 12.0
    calendar_month = (first_month + column) % 12
    dummies = (calendar_month[:, None] == np.arange(12)[None, :]).astype(float)
    return np.column_stack([trend, dummies])


def alps_scores(
    observations: pd.DataFrame,
    *,
    keys: list[str],
    min_years: int = 3,
    min_coverage: float = 0.7,
    stale_months: int = 2,
    as_of: date | None = None,
) -> pd.DataFrame:
    """ALPS for every month of every monthly series (one OLS fit per series, all fitted at once)."""
    if observations.empty:
        return empty_scores(keys)
    matrix = monthly_matrix(observations, keys)
    prices = matrix.values
    observed = ~np.isnan(prices)
    series, months = prices.shape

    first_seen = np.argmax(observed, axis=1)
    last_seen = months - 1 - np.argmax(observed[:, ::-1], axis=1)
    span = last_seen - first_seen + 1
    count = observed.sum(axis=1)
    too_short = span < 12 * min_years
    too_sparse = ~too_short & (count < min_coverage * span)
    fit = ~too_short & ~too_sparse

    design = design_matrix(months, matrix.first_month)  # (months, 13)
    mask = observed.astype(float)
    filled = np.where(observed, prices, 0.0)
    outer = (design[:, :, None] * design[:, None, :]).reshape(months, -1)  # (months, 169)
    normal = (mask @ outer).reshape(series, 13, 13)
    moment = filled @ design  # (series, 13)
    # pinv: a calendar month never observed leaves a zero row; the minimum-norm solution still gives
    # the least-squares residuals, which are unique.
    coefficients = np.einsum("sij,sj->si", np.linalg.pinv(normal, hermitian=True), moment)
    fitted = coefficients @ design.T  # (series, months)
    residual = np.where(observed, prices - fitted, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        sum_squares = np.nansum(residual * residual, axis=1)
        sd = np.sqrt(sum_squares / (count - 1))  # sample sd (n - 1), WFP 2014
        zero_variance = fit & (sum_squares <= ZERO_VARIANCE_TOLERANCE * np.nansum(filled * filled, axis=1))
        alps = residual / sd[:, None]
        deviation = residual / fitted * 100.0
    usable = fit & ~zero_variance
    alps = np.where(usable[:, None], alps, np.nan)

    reason = np.full(series, "", dtype=object)
    reason[too_short] = Insufficient.TOO_SHORT
    reason[too_sparse] = Insufficient.GAP
    reason[zero_variance] = Insufficient.ZERO_VARIANCE

    rows, cols = np.nonzero(observed)
    month_indices = matrix.first_month + cols
    frame = matrix.keys.iloc[rows].reset_index(drop=True)
    score = alps[rows, cols]
    classes, levels = classify_by_bounds(score, ALPS_BANDS)
    frame["period"] = month_text(month_indices)
    frame["period_start"] = month_start(month_indices)
    frame["value"] = prices[rows, cols]
    frame["score"] = score
    frame["method_class"] = classes
    frame["level"] = levels
    frame["insufficient_reason"] = np.where(np.isnan(score), reason[rows], "")
    frame["raises_alert"] = True
    frame["seasonal_norm"] = np.where(usable[rows], fitted[rows, cols], np.nan)
    frame["deviation_pct"] = np.where(usable[rows], deviation[rows, cols], np.nan)

    if as_of is not None:
        target = as_of_month(as_of)
        stale_rows = np.nonzero(target - (matrix.first_month + last_seen) > stale_months)[0]
        if len(stale_rows):
            stale = matrix.keys.iloc[stale_rows].reset_index(drop=True)
            target_months = np.full(len(stale_rows), target)
            stale["period"] = month_text(target_months)
            stale["period_start"] = month_start(target_months)
            stale["value"] = np.nan
            stale["score"] = np.nan
            stale["method_class"] = ""
            stale["level"] = np.nan
            stale["insufficient_reason"] = Insufficient.STALE
            stale["raises_alert"] = True
            stale["last_period"] = month_text(matrix.first_month + last_seen[stale_rows])
            frame = pd.concat([frame, stale], ignore_index=True)
    return frame
