"""The default alert rules (METHODS.md defaults), installed by a data migration and by `install_default_rules`.

Indicators are named by code or pattern (`indicator_codes`), so the rules exist before the catalogue is
loaded and cover price indicators added later. Every parameter is a stored rule parameter an analyst
can change in the admin (with history).
"""

from monitoring.alerts.methods.bands import FOOD_EXPENDITURE_BANDS, STUNTING_BANDS, WASTING_BANDS


def _bands(bands) -> list:
    return [[upper, name, level] for upper, name, level in bands]


DEFAULT_RULES = [
    {
        "name": "IFPA, food CPI (real prices)",
        "method": "ifpa",
        "indicator_codes": "CPI_FOOD",
        "place_scope": "national",
        "parameters": {
            # FAO computes IFPA on real prices: food CPI / general CPI of the same month (IFPA step 9).
            "deflate_by": "CPI_GENERAL",
            "min_history_years": 4,
            "max_gap_months": 3,
            "quarterly_weight": 0.4,
            "annual_weight": 0.6,
            # With history from 2004 the engine reproduces FAO's published AG_FPA_CFPI (IFPA step 10).
            "history_start_year": 2004,
            "stale_months": 2,
            "alert_lookback_months": 24,
        },
        "notes": "FAO SDG 2.c.1 on the food consumer price index, real prices.",
    },
    {
        "name": "IFPA, retail prices (nominal)",
        "method": "ifpa",
        "indicator_codes": "PRICE_*",
        "place_scope": "all",
        "parameters": {
            "min_history_years": 4,
            "max_gap_months": 3,
            "quarterly_weight": 0.4,
            "annual_weight": 0.6,
            "history_start_year": None,
            "stale_months": 2,
            "alert_lookback_months": 24,
        },
        "notes": "IFPA on nominal retail prices of each commodity, nationally and per market (labelled nominal).",
    },
    {
        "name": "ALPS, market prices",
        "method": "alps",
        "indicator_codes": "PRICE_*",
        "place_scope": "subnational",
        "parameters": {"min_years": 3, "min_coverage": 0.7, "stale_months": 2, "alert_lookback_months": 24},
        "notes": "WFP Alert for Price Spikes on every market price series.",
    },
    {
        "name": "WHO/UNICEF prevalence bands: wasting and stunting",
        "method": "bands",
        "indicator_codes": "WASTING, STUNTING",
        "place_scope": "all",
        "parameters": {"bands": {"WASTING": _bands(WASTING_BANDS), "STUNTING": _bands(STUNTING_BANDS)}},
        "notes": "WHO/UNICEF 2018 bands (de Onis et al. 2019).",
    },
    {
        "name": "WFP CARI: food expenditure share",
        "method": "bands",
        "indicator_codes": "FOOD_EXP_SHARE",
        "place_scope": "all",
        "parameters": {"bands": {"FOOD_EXP_SHARE": _bands(FOOD_EXPENDITURE_BANDS)}},
        "notes": "WFP CARI food expenditure share thresholds.",
    },
    {
        "name": "Undernourishment rising two years in a row",
        "method": "trend",
        "indicator_codes": "POU",
        "place_scope": "national",
        "parameters": {"consecutive": 2},
        "notes": "FAO SDG 2.1.1: rising PoU for two consecutive years is a watch. '<2.5' is a bound.",
    },
    {
        "name": "Unusual against own history (modified z-score)",
        "method": "modified_zscore",
        "indicator_codes": "DES_KCAL, CEREAL_IDR, CEREAL_SSR, CEREAL_STU, WHEAT_IDR, WHEAT_SSR, FIES_MOD_SEV, "
        "FIES_SEV, OVERWEIGHT, ANAEMIA_WOMEN, WHEAT_PROD, CEREAL_PROD",
        "place_scope": "national",
        "parameters": {"threshold": 3.0, "min_history": 4, "seasonal": True},
        "notes": "DHIS2-style outlier watch for indicators with no published threshold.",
    },
    {
        "name": "Cereal import dependency: analyst thresholds",
        "method": "bands",
        "indicator_codes": "CEREAL_IDR, WHEAT_IDR",
        "place_scope": "national",
        "is_active": False,
        "parameters": {"default_bands": [[None, "normal", 0]]},
        "notes": "No official alarm level exists for import dependency: set bands (upper bound, class, level) "
        "agreed by the regional analysts, then activate.",
    },
]


def install_default_rules(alert_rule_model) -> int:
    """Create the default rules that do not exist yet (by name); returns how many were created.
    Takes the model class so that a data migration can pass its historical model."""
    created = 0
    for spec in DEFAULT_RULES:
        spec = dict(spec)
        name = spec.pop("name")
        _, was_created = alert_rule_model.objects.get_or_create(name=name, defaults=spec)
        created += was_created
    return created
