"""Alert methods: pure functions from a DataFrame of observations to a DataFrame of scores.

Every method takes observations in long form (the series key columns, `period_start` as a date, `value`,
`flag`) and returns one row per period it looked at, with the columns in `SCORE_COLUMNS`: the score (or
None), the method's own class name, the unified level (None when it could not score) and, when it could
not, the reason. No method touches the database; the engine (`monitoring/alerts/engine.py`) feeds them.
"""

from monitoring.alerts.methods.common import (
    INSUFFICIENT_REASONS,
    SCORE_COLUMNS,
    Insufficient,
    MonthlyMatrix,
    classify_by_bounds,
    monthly_matrix,
)

__all__ = [
    "INSUFFICIENT_REASONS",
    "SCORE_COLUMNS",
    "Insufficient",
    "MonthlyMatrix",
    "classify_by_bounds",
    "monthly_matrix",
]
