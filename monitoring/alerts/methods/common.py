"""What every method shares: the output columns, the insufficient-data reasons, the month grid."""

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

# Columns every method returns besides the series key columns.
SCORE_COLUMNS = [
    "period",
    "period_start",
    "value",
    "score",
    "method_class",
    "level",
    "insufficient_reason",
    "raises_alert",
]


class Insufficient:
    """Why a period could not be scored (METHODS.md, 'What insufficient data looks like')."""

    TOO_SHORT = "too_short"
    GAP = "gap"
    ZERO_VARIANCE = "zero_variance"
    STALE = "stale"
    BOUND = "bound"
    INCOMPLETE = "incomplete"


INSUFFICIENT_REASONS = {
    Insufficient.TOO_SHORT: _("too short a history"),
    Insufficient.GAP: _("a gap in the series"),
    Insufficient.ZERO_VARIANCE: _("no variation in the history"),
    Insufficient.STALE: _("stale: the last observation is too old"),
    Insufficient.BOUND: _("published as a bound, not a measured value"),
    Insufficient.INCOMPLETE: _("not every month of the period is scored"),
}


def month_index(period_start: pd.Series) -> np.ndarray:
    """Months since year 0 (January of year 0 = 0), from a Series of dates or datetimes."""
    stamps = pd.to_datetime(period_start)
    return (stamps.dt.year.to_numpy(dtype=np.int64) * 12 + stamps.dt.month.to_numpy(dtype=np.int64) - 1).astype(
        np.int64
    )


def month_text(index: np.ndarray) -> np.ndarray:
    """'YYYY-MM' for month indices (a lookup table over the months spanned: fast for a million rows)."""
    index = np.asarray(index, dtype=np.int64)
    if index.size == 0:
        return np.array([], dtype=object)
    first = int(index.min())
    table = np.array([f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, int(index.max()) + 1)], dtype=object)
    return table[index - first]


def month_start(index: np.ndarray) -> np.ndarray:
    """First day of each month index as datetime64[D]."""
    years, months = np.divmod(np.asarray(index, dtype=np.int64), 12)
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + months.astype("timedelta64[M]")


def as_of_month(as_of: date | None) -> int | None:
    return None if as_of is None else as_of.year * 12 + as_of.month - 1


@dataclass
class MonthlyMatrix:
    """Monthly series stacked as a matrix: one row per series, one column per month.

    The grid starts in January so that `values.reshape(S, years, 12)` puts a calendar month in a column.
    `keys` holds the key columns of each row; `first_month` is the month index of column 0.
    """

    keys: pd.DataFrame
    values: np.ndarray  # (series, months), NaN where nothing was observed
    flags: np.ndarray  # (series, months), '' where measured
    first_month: int

    @property
    def months(self) -> int:
        return self.values.shape[1]

    @property
    def years(self) -> int:
        return self.values.shape[1] // 12


def monthly_matrix(observations: pd.DataFrame, keys: list[str]) -> MonthlyMatrix:
    """Stack long-form monthly observations (key columns, period_start, value, flag) into a matrix."""
    if observations.empty:
        return MonthlyMatrix(
            keys=pd.DataFrame(columns=keys),
            values=np.empty((0, 12)),
            flags=np.empty((0, 12), dtype=object),
            first_month=0,
        )
    months = month_index(observations["period_start"])
    first_month = int(months.min()) // 12 * 12
    last_month = int(months.max()) // 12 * 12 + 11
    codes, uniques = pd.MultiIndex.from_frame(observations[keys]).factorize()
    values = np.full((len(uniques), last_month - first_month + 1), np.nan)
    values[codes, months - first_month] = observations["value"].to_numpy(dtype=float)
    flags = np.full(values.shape, "", dtype=object)
    if "flag" in observations:
        flags[codes, months - first_month] = observations["flag"].fillna("").to_numpy(dtype=object)
    key_frame = uniques.to_frame(index=False)
    key_frame.columns = keys
    return MonthlyMatrix(keys=key_frame, values=values, flags=flags, first_month=first_month)


def classify_by_bounds(score: np.ndarray, bounds: list[tuple[float | None, str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Classes and levels for scores by ascending upper bounds [(upper, class, level), ..., (None, class, level)].

    A score equal to an upper bound belongs to the next class (bands are `lower <= x < upper`)."""
    score = np.asarray(score, dtype=float)
    uppers = np.array([np.inf if upper is None else float(upper) for upper, _, _ in bounds])
    position = np.searchsorted(uppers, score, side="right")
    position = np.clip(position, 0, len(bounds) - 1)
    classes = np.array([name for _, name, _ in bounds], dtype=object)[position]
    levels = np.array([level for _, _, level in bounds], dtype=float)[position]
    missing = np.isnan(score)
    classes[missing] = ""
    levels[missing] = np.nan
    return classes, levels


def empty_scores(keys: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=[*keys, *SCORE_COLUMNS])
