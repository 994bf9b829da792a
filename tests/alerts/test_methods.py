"""Each method against series computed by hand or by an independent implementation (plain Python loops
for IFPA, numpy.linalg.lstsq per series for ALPS), with the edge cases of METHODS.md."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from monitoring.alerts.methods.alps import alps_scores
from monitoring.alerts.methods.anomaly import anomaly_scores
from monitoring.alerts.methods.bands import STUNTING_BANDS, WASTING_BANDS, band_scores, rise_scores
from monitoring.alerts.methods.ifpa import ifpa_scores, real_prices
from monitoring.alerts.methods.ratios import derive

KEYS = ["series"]


def monthly_frame(values, start_year=2000, series="A") -> pd.DataFrame:
    starts = pd.date_range(f"{start_year}-01-01", periods=len(values), freq="MS")
    frame = pd.DataFrame({"series": series, "period_start": starts, "value": values, "flag": ""})
    return frame.dropna(subset=["value"]).reset_index(drop=True)


def annual_frame(values: dict, series="A") -> pd.DataFrame:
    rows = []
    for year, value in values.items():
        number, flag = value if isinstance(value, tuple) else (value, "")
        rows.append(
            {"series": series, "period": str(year), "period_start": date(year, 1, 1), "value": number, "flag": flag}
        )
    return pd.DataFrame(rows)


def sample_prices(months=96, seed=3) -> list[float]:
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    return list(100 * np.exp(0.004 * t + 0.03 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 0.01, months))))


# ------------------------------------------------------------------------------------------------- IFPA


def ifpa_by_hand(prices: list[float], year_index: int, month: int, min_years: int = 4) -> float | None:
    """An independent, loop-by-loop IFPA for one month (year_index counted from the first year)."""

    def rate(t: int, lag: int) -> float | None:
        if t - lag < 0:
            return None
        return (prices[t] / prices[t - lag]) ** (1 / lag) - 1

    def anomaly(lag: int) -> float | None:
        target = rate(year_index * 12 + month, lag)
        history = [rate(y * 12 + month, lag) for y in range(year_index)]
        history = [h for h in history if h is not None]
        n = len(history)
        if target is None or n < min_years:
            return None
        weights = [k / (n * (n + 1) / 2) for k in range(1, n + 1)]  # k-th oldest weighs k/(N(N+1)/2)
        mean = sum(w * x for w, x in zip(weights, history, strict=True)) / sum(weights)
        var = sum(w * (x - mean) ** 2 for w, x in zip(weights, history, strict=True)) / (sum(weights) * (n - 1) / n)
        return (target - mean) / math.sqrt(var)

    quarterly, annual = anomaly(3), anomaly(12)
    if quarterly is None or annual is None:
        return None
    return 0.4 * quarterly + 0.6 * annual


def test_ifpa_monthly_values_match_a_plain_python_computation():
    # given eight years of monthly prices
    prices = sample_prices()
    # when IFPA is computed
    scores = ifpa_scores(monthly_frame(prices), keys=KEYS)
    monthly = scores[scores["period"].str.len() == 7].set_index("period")
    # then every month of years 6-8 matches the loop, and the first five years are 'too short'
    for year_index in range(8):
        for month in range(12):
            expected = ifpa_by_hand(prices, year_index, month)
            row = monthly.loc[f"{2000 + year_index}-{month + 1:02d}"]
            if expected is None:
                assert np.isnan(row["score"]) and row["insufficient_reason"] == "too_short"
            else:
                assert row["score"] == pytest.approx(expected, abs=1e-9)
    assert monthly.loc["2004-12", "insufficient_reason"] == "too_short"  # 3 earlier Decembers of CAGR
    assert not np.isnan(monthly.loc["2005-01", "score"])  # 4 earlier years with a CAGR: 2001-2004


def test_ifpa_annual_value_is_the_mean_of_the_twelve_monthly_values_and_classes_follow_fao():
    # given a series whose last year has a price surge
    prices = sample_prices()
    prices[-6:] = [p * 1.25 for p in prices[-6:]]
    scores = ifpa_scores(monthly_frame(prices), keys=KEYS)
    monthly = scores[scores["period"].str.len() == 7].set_index("period")["score"]
    annual = scores[scores["period"] == "2007"].iloc[0]
    quarter = scores[scores["period"] == "2007-Q4"].iloc[0]
    # then the annual value is the mean of the 12 months and a quarter the mean of its 3
    assert annual["score"] == pytest.approx(monthly[[f"2007-{m:02d}" for m in range(1, 13)]].mean())
    assert quarter["score"] == pytest.approx(monthly[["2007-10", "2007-11", "2007-12"]].mean())
    assert not annual["raises_alert"] and not quarter["raises_alert"]
    # and the surge is abnormally high (level 2) by FAO's classes
    surge = scores[scores["period"] == "2007-08"].iloc[0]
    assert surge["score"] >= 1 and surge["method_class"] == "abnormally high" and surge["level"] == 2


@pytest.mark.parametrize(
    ("score", "expected_class", "level"),
    [
        (-0.6, "low", 0),
        (-0.5, "normal", 0),
        (0.49, "normal", 0),
        (0.5, "moderately high", 1),
        (1.0, "abnormally high", 2),
    ],
)
def test_ifpa_class_boundaries(score, expected_class, level):
    from monitoring.alerts.methods.common import classify_by_bounds
    from monitoring.alerts.methods.ifpa import IFPA_BANDS

    classes, levels = classify_by_bounds(np.array([score]), IFPA_BANDS)
    assert classes[0] == expected_class and levels[0] == level


def test_ifpa_is_not_scored_across_a_gap_of_more_than_three_months():
    # given a series with four missing months (a gap) in 2006: April to July
    prices = sample_prices()
    gapped = list(prices)
    for month in range(75, 79):
        gapped[month] = None
    scores = ifpa_scores(monthly_frame(gapped), keys=KEYS).set_index("period")
    # then a month whose 3-month rate reaches into the gap has no value, reason 'gap'
    assert scores.loc["2006-08", "insufficient_reason"] == "gap"
    # and a 12-month rate from before the gap to after it is not computed: November 2006 vs 2005
    assert np.isnan(scores.loc["2006-11", "score"]) and scores.loc["2006-11", "insufficient_reason"] == "gap"
    # while with three missing months (April to June) the same rate bridges the gap
    short_gap = list(prices)
    for month in range(75, 78):
        short_gap[month] = None
    bridged = ifpa_scores(monthly_frame(short_gap), keys=KEYS).set_index("period")
    assert not np.isnan(bridged.loc["2006-11", "score"])
    assert bridged.loc["2006-11", "score"] == pytest.approx(ifpa_by_hand(prices, 6, 10))


def test_ifpa_zero_variance_history_gives_no_value():
    # given prices growing at exactly the same rate every month
    prices = [100 * 1.01**t for t in range(84)]
    scores = ifpa_scores(monthly_frame(prices), keys=KEYS)
    monthly = scores[scores["period"].str.len() == 7]
    # then once the history is long enough, the sd is zero and there is no value
    late = monthly[monthly["period"] >= "2006-01"]
    assert late["score"].isna().all()
    assert set(late["insufficient_reason"]) == {"zero_variance"}


def test_ifpa_stale_series_says_so():
    # given a series that stopped in December 2007, computed in April 2008
    scores = ifpa_scores(monthly_frame(sample_prices()), keys=KEYS, as_of=date(2008, 4, 10))
    stale = scores[scores["insufficient_reason"] == "stale"]
    # then one 'stale' row stands for the current month, with the last period observed
    assert list(stale["period"]) == ["2008-04"]
    assert stale.iloc[0]["last_period"] == "2007-12"
    # and a series observed until February is not stale in April (2 months)
    fresh = ifpa_scores(monthly_frame(sample_prices(98)), keys=KEYS, as_of=date(2008, 4, 10))
    assert (fresh["insufficient_reason"] != "stale").all()


def test_ifpa_history_start_year_limits_the_history():
    prices = sample_prices(120)
    full = ifpa_scores(monthly_frame(prices), keys=KEYS).set_index("period")
    limited = ifpa_scores(monthly_frame(prices), keys=KEYS, history_start_year=2004).set_index("period")
    # the history from 2004 has only 4 years for 2008: scored; for 2007 only 3: too short
    assert limited.loc["2007-06", "insufficient_reason"] == "too_short"
    assert not np.isnan(limited.loc["2008-06", "score"])
    assert limited.loc["2009-06", "score"] != pytest.approx(full.loc["2009-06", "score"])


def test_real_prices_divide_by_the_general_cpi_of_the_same_month():
    food = monthly_frame([110.0, 121.0, 133.1])
    general = monthly_frame([100.0, 110.0, None])
    real = real_prices(food, general, KEYS)
    assert list(real["value"]) == [pytest.approx(1.1), pytest.approx(1.1)]


# ------------------------------------------------------------------------------------------------- ALPS


def alps_by_lstsq(prices: list[float | None], first_month: int = 0) -> np.ndarray:
    """ALPS of one series with numpy.linalg.lstsq: trend + 12 month dummies, no constant."""
    t = np.array([i for i, p in enumerate(prices) if p is not None], dtype=float)
    y = np.array([p for p in prices if p is not None])
    dummies = np.zeros((len(t), 12))
    dummies[np.arange(len(t)), ((t.astype(int) + first_month) % 12)] = 1
    design = np.column_stack([t, dummies])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coefficients
    return residuals / residuals.std(ddof=1)


def test_alps_matches_numpy_lstsq_for_two_series_at_once():
    # given two market series of different lengths, one with missing months
    first = sample_prices(60, seed=5)
    second = sample_prices(48, seed=7)
    second[10] = second[20] = None
    frame = pd.concat([monthly_frame(first, series="A"), monthly_frame(second, 2001, series="B")], ignore_index=True)
    # when ALPS is computed for both in one call
    scores = alps_scores(frame, keys=KEYS)
    # then each series' values equal an independent least-squares fit
    for series, prices, first_month in (("A", first, 0), ("B", second, 0)):
        got = scores[scores["series"] == series].sort_values("period_start")["score"].to_numpy()
        assert got == pytest.approx(alps_by_lstsq(prices, first_month), abs=1e-8)


def test_alps_classes_follow_wfp_and_a_spike_is_a_crisis():
    prices = sample_prices(60)
    prices[50] *= 1.4
    scores = alps_scores(monthly_frame(prices), keys=KEYS).set_index("period")
    spike = scores.loc["2004-03"]
    assert spike["score"] >= 2 and spike["method_class"] == "crisis" and spike["level"] == 3
    assert spike["deviation_pct"] > 25
    for value, expected in ((0.2, "normal"), (0.25, "stress"), (1.0, "alert"), (1.99, "alert"), (2.0, "crisis")):
        from monitoring.alerts.methods.alps import ALPS_BANDS
        from monitoring.alerts.methods.common import classify_by_bounds

        assert classify_by_bounds(np.array([value]), ALPS_BANDS)[0][0] == expected


def test_alps_needs_three_years_and_seventy_percent_of_months():
    # too short: 35 months
    short = alps_scores(monthly_frame(sample_prices(35)), keys=KEYS)
    assert short["score"].isna().all() and set(short["insufficient_reason"]) == {"too_short"}
    # too sparse: 48 months spanned, only 60% observed
    sparse = sample_prices(48)
    for month in range(0, 48, 5):
        sparse[month] = None
    for month in range(1, 48, 5):
        sparse[month] = None
    gappy = alps_scores(monthly_frame(sparse), keys=KEYS)
    assert gappy["score"].isna().all() and set(gappy["insufficient_reason"]) == {"gap"}


def test_alps_zero_variance_when_trend_and_season_explain_everything():
    t = np.arange(48)
    prices = list(50 + 0.5 * t + np.tile(np.arange(12), 4))
    scores = alps_scores(monthly_frame(prices), keys=KEYS)
    assert scores["score"].isna().all() and set(scores["insufficient_reason"]) == {"zero_variance"}


def test_alps_stale_series():
    scores = alps_scores(monthly_frame(sample_prices(48)), keys=KEYS, as_of=date(2004, 6, 1))
    stale = scores[scores["insufficient_reason"] == "stale"]
    assert list(stale["period"]) == ["2004-06"] and stale.iloc[0]["last_period"] == "2003-12"


# -------------------------------------------------------------------------------------- bands and trend


def test_wasting_and_stunting_bands_by_hand():
    frame = annual_frame({2015: 2.4, 2016: 5.0, 2017: 9.99, 2018: 10.0, 2019: 15.0})
    wasting = band_scores(frame, keys=KEYS, bands=WASTING_BANDS).set_index("period")
    assert list(wasting["method_class"]) == ["very low", "medium", "medium", "high", "very high"]
    assert list(wasting["level"]) == [0, 1, 1, 2, 3]
    stunting = band_scores(annual_frame({2020: 29.9, 2021: 30.0}), keys=KEYS, bands=STUNTING_BANDS)
    assert list(stunting["method_class"]) == ["high", "very high"]


def test_a_value_published_as_a_bound_is_never_scored_as_measured():
    # '<2.5' wasting: every value it allows is 'very low'; '<12' stunting spans 'low' and 'medium'
    wasting = band_scores(annual_frame({2020: (2.5, "<")}), keys=KEYS, bands=WASTING_BANDS).iloc[0]
    assert wasting["method_class"] == "very low" and wasting["level"] == 0
    assert np.isnan(wasting["score"])  # the bound is not a measured value
    stunting = band_scores(annual_frame({2020: (12, "<")}), keys=KEYS, bands=STUNTING_BANDS).iloc[0]
    assert np.isnan(stunting["level"]) and stunting["insufficient_reason"] == "bound"
    above = band_scores(annual_frame({2020: (30, ">")}), keys=KEYS, bands=STUNTING_BANDS).iloc[0]
    assert above["method_class"] == "very high" and above["level"] == 3


def test_pou_rising_two_years_is_a_watch_and_bounds_are_handled_as_bounds():
    # '<2.5', '<2.5': unknown; then 3.1 (a certain rise from below 2.5), 3.4: two rises -> watch
    frame = annual_frame({2015: (2.5, "<"), 2016: (2.5, "<"), 2017: 3.1, 2018: 3.4, 2019: 3.0})
    scores = rise_scores(frame, keys=KEYS).set_index("period")
    assert scores.loc["2015", "insufficient_reason"] == "too_short"
    assert scores.loc["2016", "insufficient_reason"] == "bound"
    assert scores.loc["2017", "score"] == 1 and scores.loc["2017", "level"] == 0
    assert scores.loc["2018", "score"] == 2 and scores.loc["2018", "level"] == 1
    assert scores.loc["2018", "method_class"] == "rising"
    assert scores.loc["2019", "score"] == 0 and scores.loc["2019", "level"] == 0


def test_pou_trend_is_not_scored_across_a_missing_year():
    scores = rise_scores(annual_frame({2015: 3.0, 2016: 3.2, 2018: 3.5}), keys=KEYS).set_index("period")
    assert scores.loc["2018", "insufficient_reason"] == "gap"


# ------------------------------------------------------------------------------------------------ anomaly


def test_modified_z_score_by_hand_and_strictly_above_the_threshold():
    # history 10, 11, 12, 13, 14: median 12, MAD 1; 16.448 -> 0.6745 * 4.448 / 1 = 3.0002
    history = {2010 + i: v for i, v in enumerate([10, 11, 12, 13, 14])}
    frame = annual_frame({**history, 2015: 16.448})
    scores = anomaly_scores(frame, keys=KEYS, modified=True, threshold=3.0).set_index("period")
    assert scores.loc["2015", "score"] == pytest.approx(0.6745 * 4.448)
    assert scores.loc["2015", "method_class"] == "outlier" and scores.loc["2015", "level"] == 1
    # exactly at the threshold is not an outlier (strictly above)
    at = annual_frame({**history, 2015: 16.0})
    at_threshold = 0.6745 * 4.0 / 1.0
    at_scores = anomaly_scores(at, keys=KEYS, modified=True, threshold=at_threshold).set_index("period")
    assert at_scores.loc["2015", "score"] == at_threshold and at_scores.loc["2015", "level"] == 0
    assert scores.loc["2013", "insufficient_reason"] == "too_short"


def test_z_score_by_hand_and_zero_spread_gives_zero():
    frame = annual_frame({2010: 2.0, 2011: 4.0, 2012: 4.0, 2013: 4.0, 2014: 5.0, 2015: 7.0, 2016: 9.0})
    scores = anomaly_scores(frame, keys=KEYS, modified=False, min_history=4).set_index("period")
    history = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 7.0])
    assert scores.loc["2016", "score"] == pytest.approx(abs(9.0 - history.mean()) / history.std())
    flat = annual_frame({2010: 5.0, 2011: 5.0, 2012: 5.0, 2013: 5.0, 2014: 9.0})
    for modified in (True, False):
        flat_scores = anomaly_scores(flat, keys=KEYS, modified=modified).set_index("period")
        assert flat_scores.loc["2014", "score"] == 0 and flat_scores.loc["2014", "level"] == 0


def test_seasonal_monthly_anomaly_compares_the_same_calendar_month():
    # every July is 50, other months 10-14; a July of 50 is normal, a March of 50 an outlier
    values = [50.0 if month % 12 == 6 else 10.0 + (month % 5) for month in range(72)]
    values[62] = 50.0  # March of year 6
    scores = anomaly_scores(
        monthly_frame(values).assign(period=lambda f: f["period_start"].dt.strftime("%Y-%m")),
        keys=KEYS,
        modified=False,
        frequency="monthly",
    ).set_index("period")
    assert scores.loc["2005-07", "level"] == 0
    assert scores.loc["2005-03", "level"] == 1


# ------------------------------------------------------------------------------------------------- ratios


def test_import_dependency_ratio_is_derived_from_its_components():
    components = pd.DataFrame(
        [
            {
                "series": "KG",
                "code": code,
                "period": "2020",
                "period_start": date(2020, 1, 1),
                "value": value,
                "flag": "",
            }
            for code, value in (("CEREAL_PROD", 600.0), ("CEREAL_IMP", 500.0), ("CEREAL_EXP", 100.0))
        ]
        + [
            {
                "series": "KG",
                "code": "CEREAL_PROD",
                "period": "2021",
                "period_start": date(2021, 1, 1),
                "value": 1.0,
                "flag": "",
            }
        ]
    )
    formula = "(CEREAL_IMP - CEREAL_EXP) / (CEREAL_PROD + CEREAL_IMP - CEREAL_EXP) * 100"
    derived = derive(components, formula=formula, keys=KEYS)
    # (500 - 100) / (600 + 500 - 100) * 100 = 40; 2021 lacks imports and exports: no value
    assert list(derived["period"]) == ["2020"]
    assert derived.iloc[0]["value"] == pytest.approx(40.0)
