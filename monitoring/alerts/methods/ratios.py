"""Derived supply ratios, computed from their components' approved values (never entered by staff).

FAO: cereal import dependency IDR = (imports - exports) / (production + imports - exports) x 100;
self-sufficiency SSR = production / (production + imports - exports) x 100; AMIS: stocks-to-use =
ending stocks / total utilisation. The formula of each derived indicator is stored on the indicator
(`Indicator.formula`) and evaluated safely by `monitoring.formulas.evaluate_formula`.
"""

import numpy as np
import pandas as pd

from monitoring.formulas import evaluate_formula, formula_codes


def derive(components: pd.DataFrame, *, formula: str, keys: list[str]) -> pd.DataFrame:
    """Values of a derived indicator for every place and period where all its components are present.

    `components` has the key columns, `code` (the component's indicator code), `period`, `period_start`,
    `value` and `flag`. A period missing a component, or whose formula divides by zero, has no value; a
    component published as a bound makes the derived value a bound of unknown direction, so it is left out
    too (flag 'E' values pass through and mark the result as estimated)."""
    codes = sorted(formula_codes(formula))
    columns = [*keys, "period", "period_start", "value", "flag"]
    if components.empty:
        return pd.DataFrame(columns=columns)
    usable = components[components["code"].isin(codes) & ~components["flag"].isin(["<", ">"])]
    wide = usable.pivot_table(index=[*keys, "period", "period_start"], columns="code", values="value", aggfunc="first")
    estimated = (
        usable.assign(estimated=usable["flag"] == "E")
        .groupby([*keys, "period", "period_start"])["estimated"]
        .any()
        .reindex(wide.index, fill_value=False)
    )
    if any(code not in wide.columns for code in codes):
        return pd.DataFrame(columns=columns)
    wide = wide.dropna(subset=codes)
    estimated = estimated.reindex(wide.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = evaluate_formula(formula, {code: wide[code] for code in codes})
    values = pd.Series(values, index=wide.index).replace([np.inf, -np.inf], np.nan)
    result = values.rename("value").reset_index()
    result["flag"] = np.where(estimated.to_numpy(dtype=bool), "E", "")
    return result.dropna(subset=["value"])[columns].reset_index(drop=True)
