"""From a frozen snapshot to the report's contents: sections, key messages, tables and chart specs.

Everything here reads the snapshot only (never the database), so the same snapshot always gives the same
contents. The result is a tree of `Section`s that every renderer (HTML, PDF, Word, Excel) walks in the same
order; a table is one `Table` whether it is printed, typed into Word or written as an Excel sheet.
Call `report_contents` inside `translation.override(language)`: every word is gettext'd at that moment.
"""

import base64
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from monitoring import periods
from reports import charts
from reports.formatting import LevelCell, Number, format_number

PRICE_CATEGORY = "price"
FOOD_CPI = "CPI_FOOD"
EXCHANGE_RATE = "EXCHANGE_RATE_USD"
# The unified scale of METHODS.md: an IFPA of 1 or more ("abnormally high") maps to level 2 (warning).
ABNORMALLY_HIGH_LEVEL = 2
MODERATELY_HIGH_LEVEL = 1  # 0.5 <= IFPA < 1, "moderately high"
# The cereal balance (METHODS.md, section 5) and, failing cereals, the same balance for wheat.
BALANCE_CODES = {
    "cereals": ("CEREAL_PROD", "CEREAL_IMP", "CEREAL_EXP", "CEREAL_UTIL"),
    "wheat": ("WHEAT_PROD", "WHEAT_IMP", "WHEAT_EXP", None),
}
PERIODS_PER_YEAR = {periods.ANNUAL: 1, periods.QUARTERLY: 4, periods.MONTHLY: 12}
ALERT_ROWS_PER_STATE = 25


@dataclass
class Paragraph:
    text: str
    kind: str = "paragraph"


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    kind: str = "table"


@dataclass
class Chart:
    key: str
    title: str
    spec: dict[str, Any]
    svg: str = ""  # drawn by the build (reports.charts.print_svg); empty until then
    kind: str = "chart"

    @property
    def svg_data_uri(self) -> str:
        # As an image, not inline: WeasyPrint then lays out one box instead of styling every SVG element.
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode("ascii")


@dataclass
class Section:
    key: str
    title: str
    narrative: str = ""
    bullets: list[str] = field(default_factory=list)
    blocks: list[Paragraph | Chart | Table] = field(default_factory=list)  # in reading order
    subsections: list["Section"] = field(default_factory=list)
    country: str = ""

    @property
    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    @property
    def charts(self) -> list[Chart]:
        return [block for block in self.blocks if isinstance(block, Chart)]


@dataclass
class ReportContents:
    year: int
    language: str
    version: int
    title: str
    subtitle: str
    snapshot_taken_at: str
    key_messages: list[str]
    sections: list[Section]
    annex_tables: list[Table]

    def walk(self) -> Iterable[tuple[int, Section]]:
        """Every section with its depth (1 for chapters, 2 for state profiles), in reading order."""

        def visit(section: Section, depth: int):
            yield depth, section
            for child in section.subsections:
                yield from visit(child, depth + 1)

        for section in self.sections:
            yield from visit(section, 1)

    def tables(self) -> list[Table]:
        """Every table printed in the report, then the annex-only tables of the Excel file."""
        return [table for _depth, section in self.walk() for table in section.tables] + self.annex_tables

    def charts(self) -> list[Chart]:
        return [chart for _depth, section in self.walk() for chart in section.charts]


class _Data:
    """Indexes over the snapshot, and the few computations every section shares."""

    def __init__(self, snapshot: dict[str, Any], language: str):
        self.snapshot = snapshot
        self.language = language
        self.year: int = snapshot["year"]
        self.countries: list[dict] = snapshot["countries"]
        self.indicators: dict[str, dict] = snapshot["indicators"]
        self.series: dict[tuple[str, str], list[tuple[str, float, str, int]]] = defaultdict(list)
        for obs_id, code, iso2, period, value, flag in snapshot["observations"]:
            self.series[(code, iso2)].append((period, value, flag, obs_id))
        for rows in self.series.values():
            rows.sort()
        self.scores_by_country: dict[str, list[list]] = defaultdict(list)
        for row in snapshot["scores"]:
            self.scores_by_country[row[3]].append(row)
        self.alerts_by_country: dict[str, list[dict]] = defaultdict(list)
        for alert in snapshot["alerts"]:
            self.alerts_by_country[alert["country"]].append(alert)

    def country_name(self, country: dict) -> str:
        return country.get(f"name_{self.language}") or country["name_en"]

    def name_of(self, iso2: str) -> str:
        return next(self.country_name(country) for country in self.countries if country["iso2"] == iso2)

    def indicator_name(self, code: str) -> str:
        indicator = self.indicators[code]
        return indicator.get(f"name_{self.language}") or indicator["name_en"]

    def values_in_year(self, code: str, iso2: str, year: int) -> list[tuple[str, float, str, int]]:
        prefix = str(year)
        return [row for row in self.series.get((code, iso2), []) if row[0][:4] == prefix]

    def year_value(self, code: str, iso2: str, year: int) -> tuple[float | None, str, int]:
        """The indicator's value for the year: the annual value, or the mean of the year's months or
        quarters; with its flag ('<' etc. for an annual bound) and how many periods it rests on."""
        rows = self.values_in_year(code, iso2, year)
        if not rows:
            return None, "", 0
        if len(rows) == 1:
            return rows[0][1], rows[0][2], 1
        return fmean(row[1] for row in rows), "", len(rows)

    def monthly_usd(self, code: str, iso2: str, year: int) -> list[float]:
        rates = {period: value for period, value, _flag, _id in self.values_in_year(EXCHANGE_RATE, iso2, year)}
        return [
            value / rates[period]
            for period, value, _flag, _id in self.values_in_year(code, iso2, year)
            if rates.get(period)
        ]


def report_contents(
    *, snapshot: dict[str, Any], language: str, version: int, narratives: dict[tuple[str, str], str]
) -> ReportContents:
    """The whole report for a snapshot, in the active language. `narratives` maps (section, iso2 or '')
    to the analyst's text."""
    data = _Data(snapshot, language)
    year = data.year
    sections = [
        Section(
            key="summary",
            title=_("Summary"),
            narrative=narratives.get(("summary", ""), ""),
            bullets=key_messages(data),
        ),
        _regional_section(data, narratives),
        Section(
            key="profiles",
            title=_("The five states"),
            subsections=[_country_section(data, country, narratives) for country in data.countries],
        ),
        _methods_section(data, narratives),
        _completeness_annex(data),
    ]
    return ReportContents(
        year=year,
        language=language,
        version=version,
        title=_("Food security in Central Asia, %(year)s") % {"year": year},
        subtitle=_(
            "Annual report to the summit of the heads of state of Kazakhstan, Kyrgyzstan, Tajikistan, "
            "Turkmenistan and Uzbekistan"
        ),  # fmt: skip
        snapshot_taken_at=snapshot["taken_at"],
        key_messages=sections[0].bullets,
        sections=sections,
        annex_tables=[_observations_table(data), _all_alerts_table(data)],
    )


# --- key messages -------------------------------------------------------------------------------------


def key_messages(data: _Data) -> list[str]:
    """Sentences generated from the snapshot: food price anomalies per state (monthly IFPA scores), the
    states with serious alerts, the regional price rule, the cereal balance and data completeness."""
    messages = [message for country in data.countries if (message := _price_message(data, country["iso2"]))]
    if not messages:
        messages.append(
            _(
                "No food price anomaly could be computed for %(year)s: the monthly price series are too short or "
                "were not approved."
            )
            % {"year": data.year}  # fmt: skip
        )
    for country in data.countries:
        serious = [
            alert for alert in data.alerts_by_country[country["iso2"]] if alert["level"] >= ABNORMALLY_HIGH_LEVEL
        ]
        if serious:
            by_pillar: dict[str, int] = defaultdict(int)
            for alert in serious:
                by_pillar[alert["pillar"]] += 1
            pillar = max(sorted(by_pillar), key=lambda name: by_pillar[name])
            messages.append(
                ngettext(
                    "%(country)s had %(count)d alert at warning level or above in %(year)s, mostly in %(pillar)s.",
                    "%(country)s had %(count)d alerts at warning level or above in %(year)s, mostly in %(pillar)s.",
                    len(serious),
                )
                % {
                    "country": data.name_of(country["iso2"]),
                    "count": len(serious),
                    "year": data.year,
                    "pillar": _pillar_label(pillar),
                }  # fmt: skip
            )
    high_price_months = sorted(
        {
            regional["period"]
            for regional in data.snapshot["regional_alerts"]
            if regional["kind"] == "price_share" and regional["level"] >= ABNORMALLY_HIGH_LEVEL
        }
    )
    if high_price_months:
        messages.append(
            ngettext(
                "In %(count)d month of %(year)s most of the five states had high food prices (FAO's regional rule).",
                "In %(count)d months of %(year)s most of the five states had high food prices (FAO's regional rule).",
                len(high_price_months),
            )
            % {"count": len(high_price_months), "year": data.year}
        )
    balance = cereal_balance(data)
    if balance is not None and balance["coverage"] is not None:
        messages.append(
            _(
                "The exportable %(commodity)s surplus of %(exporters)s covered %(coverage)s%% of the import needs of "
                "%(importers)s in %(year)s."
            )  # fmt: skip
            % {
                "commodity": balance["commodity_label"],
                "exporters": ", ".join(data.name_of(iso2) for iso2 in balance["exporters"]),
                "coverage": format_number(balance["coverage"], data.language, decimals=0),
                "importers": ", ".join(data.name_of(iso2) for iso2 in balance["importers"]),
                "year": data.year,
            }
        )
    totals = completeness_totals(data)
    expected = sum(row["expected"] for row in totals.values())
    if expected:
        approved = sum(row["approved"] for row in totals.values())
        lowest = min(data.countries, key=lambda country: totals[country["iso2"]]["share"])
        messages.append(
            _(
                "%(share)s%% of the values the catalogue expects for %(year)s are approved; the least complete state "
                "is %(country)s (%(lowest)s%%)."
            )  # fmt: skip
            % {
                "share": format_number(100 * approved / expected, data.language, decimals=0),
                "year": data.year,
                "country": data.country_name(lowest),
                "lowest": format_number(totals[lowest["iso2"]]["share"], data.language, decimals=0),
            }
        )
    return messages


def _price_message(data: _Data, iso2: str) -> str | None:
    """'Food prices were abnormally high in Kyrgyzstan in 7 of 12 months; wheat flour led the rise.'"""
    ifpa = [
        row
        for row in data.scores_by_country[iso2]
        if row[1] == "ifpa"
        and row[5] is not None
        and (row[2] == FOOD_CPI or data.indicators[row[2]]["category"] == PRICE_CATEGORY)
        and periods.frequency_of(row[4]) == periods.MONTHLY
    ]
    if not ifpa:
        return None
    scored_months = {row[4] for row in ifpa}
    high_months = {row[4] for row in ifpa if (row[6] or 0) >= ABNORMALLY_HIGH_LEVEL}
    moderate_months = {row[4] for row in ifpa if (row[6] or 0) == MODERATELY_HIGH_LEVEL}
    if not high_months and moderate_months:
        return ngettext(
            "Food prices in %(country)s were moderately high in %(moderate)d of %(scored)d month of %(year)s, "
            "never abnormally high.",
            "Food prices in %(country)s were moderately high in %(moderate)d of %(scored)d months of %(year)s, "
            "never abnormally high.",
            len(scored_months),
        ) % {
            "country": data.name_of(iso2),
            "moderate": len(moderate_months),
            "scored": len(scored_months),
            "year": data.year,
        }
    if not high_months:
        return ngettext(
            "Food prices in %(country)s stayed within their usual range in the %(scored)d month scored in %(year)s.",
            "Food prices in %(country)s stayed within their usual range in all %(scored)d months scored in %(year)s.",
            len(scored_months),
        ) % {"country": data.name_of(iso2), "scored": len(scored_months), "year": data.year}
    message = ngettext(
        "Food prices were abnormally high in %(country)s in %(high)d of %(scored)d month",
        "Food prices were abnormally high in %(country)s in %(high)d of %(scored)d months",
        len(scored_months),
    ) % {"country": data.name_of(iso2), "high": len(high_months), "scored": len(scored_months)}
    commodities: dict[str, list[list]] = defaultdict(list)
    for row in ifpa:
        if data.indicators[row[2]]["category"] == PRICE_CATEGORY:
            commodities[row[2]].append(row)
    if commodities:
        leader = max(
            sorted(commodities),
            key=lambda code: (
                sum(1 for row in commodities[code] if (row[6] or 0) >= ABNORMALLY_HIGH_LEVEL),
                fmean(row[5] for row in commodities[code]),
            ),
        )
        if any((row[6] or 0) >= ABNORMALLY_HIGH_LEVEL for row in commodities[leader]):
            return _("%(message)s; %(commodity)s led the rise.") % {
                "message": message,
                "commodity": _commodity_label(data, leader),
            }
    return _("%(message)s.") % {"message": message}


def _commodity_label(data: _Data, code: str) -> str:
    # The catalogue's commodity word is English; other languages use the indicator's own name.
    commodity = data.indicators[code]["commodity"]
    return commodity if data.language == "en" and commodity else data.indicator_name(code)


# --- shared computations ------------------------------------------------------------------------------


def cereal_balance(data: _Data) -> dict[str, Any] | None:
    """The regional balance of METHODS.md section 5: production minus domestic utilisation summed over the
    states, and the share of the net importers' needs the net exporters' surplus covers. Without reported
    utilisation it is the apparent one (production + imports - exports), so the surplus is the net export."""
    for commodity, (prod_code, imp_code, exp_code, util_code) in BALANCE_CODES.items():
        rows = {}
        for country in data.countries:
            iso2 = country["iso2"]
            production = data.year_value(prod_code, iso2, data.year)[0]
            imports = data.year_value(imp_code, iso2, data.year)[0]
            exports = data.year_value(exp_code, iso2, data.year)[0]
            utilisation = data.year_value(util_code, iso2, data.year)[0] if util_code else None
            apparent = utilisation is None
            if utilisation is None and None not in (production, imports, exports):
                utilisation = production + imports - exports
            rows[iso2] = {
                "production": production,
                "imports": imports,
                "exports": exports,
                "utilisation": utilisation,
                "apparent": apparent and utilisation is not None,
                "balance": None if None in (production, utilisation) else production - utilisation,
            }
        complete = {iso2: row for iso2, row in rows.items() if row["balance"] is not None}
        if not complete:
            continue
        exporters = sorted(iso2 for iso2, row in complete.items() if row["balance"] > 0)
        importers = sorted(iso2 for iso2, row in complete.items() if row["balance"] < 0)
        surplus = sum(complete[iso2]["balance"] for iso2 in exporters)
        needs = -sum(complete[iso2]["balance"] for iso2 in importers)
        return {
            "commodity": commodity,
            "commodity_label": _("cereal") if commodity == "cereals" else _("wheat"),
            "codes": (prod_code, imp_code, exp_code, util_code),
            "rows": rows,
            "missing": sorted(set(rows) - set(complete)),
            "regional_balance": sum(row["balance"] for row in complete.values()),
            "exporters": exporters,
            "importers": importers,
            "surplus": surplus,
            "needs": needs,
            "coverage": 100 * surplus / needs if needs else None,
        }
    return None


def completeness_rows(data: _Data) -> dict[tuple[str, str], dict[str, Any]]:
    """Per state and entered indicator: the periods the year should have, and how many exist per status."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for iso2, code, status, number in data.snapshot["completeness"]:
        counts[(iso2, code)][status] += number
    rows = {}
    for country in data.countries:
        for code, indicator in data.indicators.items():
            if indicator["formula"]:
                continue  # derived values are computed, never entered
            found = counts.get((country["iso2"], code), {})
            expected = PERIODS_PER_YEAR.get(indicator["frequency"], 1)
            approved = min(found.get("approved", 0), expected)
            present = sum(found.values())
            rows[(country["iso2"], code)] = {
                "expected": expected,
                "approved": approved,
                "submitted": found.get("submitted", 0),
                "draft": found.get("draft", 0),
                "rejected": found.get("rejected", 0),
                "missing": max(expected - present, 0),
            }
    return rows


def completeness_totals(data: _Data) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {
        country["iso2"]: {"expected": 0, "approved": 0, "submitted": 0, "draft": 0, "rejected": 0, "missing": 0}
        for country in data.countries
    }
    for (iso2, _code), row in completeness_rows(data).items():
        for key in ("expected", "approved", "submitted", "draft", "rejected", "missing"):
            totals[iso2][key] += row[key]
    for row in totals.values():
        row["share"] = 100 * row["approved"] / row["expected"] if row["expected"] else 0.0
    return totals


def _pillar_label(pillar: str) -> str:
    return {
        "availability": _("availability"),
        "access": _("access"),
        "utilisation": _("utilisation"),
        "stability": _("stability"),
    }.get(pillar, pillar)


PILLARS = ("availability", "access", "utilisation", "stability")


def _level_cell(level: int | None) -> LevelCell:
    return LevelCell(level, charts.level_label(level))


# --- regional picture ---------------------------------------------------------------------------------


def _regional_section(data: _Data, narratives: dict) -> Section:
    year = data.year
    section = Section(key="regional", title=_("The regional picture"), narrative=narratives.get(("regional", ""), ""))

    matrix_rows = []
    for country in data.countries:
        levels = dict.fromkeys(PILLARS)
        for alert in data.alerts_by_country[country["iso2"]]:
            current = levels.get(alert["pillar"])
            levels[alert["pillar"]] = alert["level"] if current is None else max(current, alert["level"])
        scored = {row[2] for row in data.scores_by_country[country["iso2"]] if row[5] is not None}
        for pillar in PILLARS:
            if levels[pillar] is None and any(data.indicators[code]["pillar"] == pillar for code in scored):
                levels[pillar] = 0  # scored and nothing raised: normal, which is not the same as no data
        known = [level for level in levels.values() if level is not None]
        matrix_rows.append(
            [data.country_name(country)]
            + [_level_cell(levels[pillar]) for pillar in PILLARS]
            + [_level_cell(max(known) if known else None)]
        )
    section.blocks.append(
        Table(
            key="status_matrix",
            title=_("Highest alert level reached in %(year)s, by state and pillar") % {"year": year},
            columns=[_("State")] + [_pillar_label(pillar).capitalize() for pillar in PILLARS] + [_("Overall")],
            rows=matrix_rows,
            note=_("“No data”: no method could score an approved series of this pillar for the year."),
        )
    )

    regional_rows = [
        [
            regional["period"],
            _regional_kind_label(regional["kind"]),
            data.indicator_name(regional["indicator"]),
            _level_cell(regional["level"]),
            Number(regional["score"], 2),
            ", ".join(data.name_of(iso2) for iso2 in regional["states"]),
        ]
        for regional in sorted(data.snapshot["regional_alerts"], key=lambda row: (row["period"], row["kind"]))
    ]
    section.blocks.append(
        Table(
            key="regional_alerts",
            title=_("Regional alerts, %(year)s") % {"year": year},
            columns=[_("Period"), _("Kind"), _("Indicator"), _("Level"), _("Score"), _("States behind it")],
            rows=regional_rows,
            note="" if regional_rows else _("No regional alert was raised in %(year)s.") % {"year": year},
        )
    )

    balance = cereal_balance(data)
    if balance is None:
        section.blocks.append(
            Paragraph(
                _(
                    "The regional cereal balance cannot be computed for %(year)s: no state has approved production and "
                    "trade figures for the year."
                )
                % {"year": year}  # fmt: skip
            )
        )
    else:
        balance_rows = []
        for country in data.countries:
            row = balance["rows"][country["iso2"]]
            role = _("net exporter") if (row["balance"] or 0) > 0 else _("net importer") if row["balance"] else "–"
            balance_rows.append(
                [
                    data.country_name(country),
                    Number(row["production"], 0),
                    Number(row["imports"], 0),
                    Number(row["exports"], 0),
                    Number(row["utilisation"], 0),
                    Number(row["balance"], 0, signed=True),
                    role if row["balance"] is not None else _("no data"),
                ]
            )
        balance_rows.append([_("Region"), "", "", "", "", Number(balance["regional_balance"], 0, signed=True), ""])
        apparent = [iso2 for iso2, row in balance["rows"].items() if row["apparent"]]
        notes = []
        if apparent:
            notes.append(
                _(
                    "Utilisation not reported for %(states)s: apparent utilisation (production + imports − exports) "
                    "is used."
                )
                % {"states": ", ".join(data.name_of(iso2) for iso2 in apparent)}  # fmt: skip
            )
        if balance["missing"]:
            notes.append(
                _("No approved figures for %(states)s.")
                % {"states": ", ".join(data.name_of(iso2) for iso2 in balance["missing"])}
            )
        section.blocks.append(
            Table(
                key="cereal_balance",
                title=_("Regional %(commodity)s balance, %(year)s (tonnes)")
                % {"commodity": balance["commodity_label"], "year": year},
                columns=[
                    _("State"),
                    _("Production"),
                    _("Imports"),
                    _("Exports"),
                    _("Utilisation"),
                    _("Balance"),
                    _("Role"),
                ],  # fmt: skip
                rows=balance_rows,
                note=" ".join(notes),
            )
        )
        if balance["coverage"] is not None:
            section.blocks.append(
                Paragraph(
                    _(
                        "The exportable surplus of the net exporters (%(surplus)s t) covers %(coverage)s%% of the "
                        "import needs of the net importers (%(needs)s t)."
                    )  # fmt: skip
                    % {
                        "surplus": format_number(balance["surplus"], data.language, decimals=0),
                        "coverage": format_number(balance["coverage"], data.language, decimals=0),
                        "needs": format_number(balance["needs"], data.language, decimals=0),
                    }
                )
            )
        else:
            section.blocks.append(Paragraph(_("No state was a net importer in %(year)s.") % {"year": year}))

    section.blocks.extend(_price_tables(data))
    return section


def _regional_kind_label(kind: str) -> str:
    return {
        "price_share": _("share of states with high food prices (FAO)"),
        "cereal_balance": _("regional cereal balance"),
    }.get(kind, kind)


def _price_tables(data: _Data) -> list[Table]:
    year = data.year
    price_codes = [
        code
        for code, indicator in data.indicators.items()
        if indicator["category"] == PRICE_CATEGORY
        and any(data.values_in_year(code, country["iso2"], year) for country in data.countries)
    ]
    local_rows, usd_rows = [], []
    without_rate = set()
    for code in price_codes:
        unit = data.indicators[code]["unit"].replace("LCU", "").lstrip("/") or data.indicators[code]["unit"]
        local_row, usd_row = [data.indicator_name(code), unit], [data.indicator_name(code), f"USD/{unit}"]
        for country in data.countries:
            iso2 = country["iso2"]
            value, _flag, count = data.year_value(code, iso2, year)
            local_row.append(Number(value, 2))
            usd = data.monthly_usd(code, iso2, year)
            if value is not None and not usd:
                without_rate.add(iso2)
            usd_row.append(Number(fmean(usd), 2) if usd else None)
        local_rows.append(local_row)
        usd_rows.append(usd_row)
    state_columns = [f"{data.country_name(country)} ({country['currency']})" for country in data.countries]
    local = Table(
        key="prices_local",
        title=_("Average retail prices in %(year)s, local currency") % {"year": year},
        columns=[_("Product"), _("Unit")] + state_columns,
        rows=local_rows,
        note=_("Mean of the approved monthly national prices of the year.")
        if local_rows
        else _("No approved national retail prices for %(year)s.") % {"year": year},
    )
    usd_note = _("Each month's price divided by the same month's approved exchange rate, then averaged.")
    if without_rate:
        usd_note += " " + _("No approved exchange rate for %(states)s: their prices are not converted.") % {
            "states": ", ".join(data.name_of(iso2) for iso2 in sorted(without_rate))
        }
    usd = Table(
        key="prices_usd",
        title=_("Average retail prices in %(year)s, US dollars") % {"year": year},
        columns=[_("Product"), _("Unit")] + [data.country_name(country) for country in data.countries],
        rows=usd_rows,
        note=usd_note if usd_rows else "",
    )
    return [local, usd]


# --- state profiles -----------------------------------------------------------------------------------


def _country_section(data: _Data, country: dict, narratives: dict) -> Section:
    iso2, year = country["iso2"], data.year
    section = Section(
        key=f"state-{iso2.lower()}",
        title=data.country_name(country),
        narrative=narratives.get(("country", iso2), ""),
        country=iso2,
    )
    key_rows = []
    for code, indicator in data.indicators.items():
        if not indicator["is_key"]:
            continue
        current, flag, count = data.year_value(code, iso2, year)
        previous, _previous_flag, _count = data.year_value(code, iso2, year - 1)
        change = None if current is None or previous is None else current - previous
        change_percent = 100 * change / abs(previous) if change is not None and previous else None
        basis = ""
        if indicator["frequency"] != periods.ANNUAL and count:
            basis = ngettext("mean of %(count)d period", "mean of %(count)d periods", count) % {"count": count}
        if flag == "<":
            basis = _("published as below the value")
        elif flag == ">":
            basis = _("published as above the value")
        unit = indicator["unit"].replace("LCU", country["currency"])
        key_rows.append(
            [
                data.indicator_name(code),
                unit,
                Number(previous),
                Number(current),
                Number(change, signed=True),
                Number(change_percent, 1, suffix="%", signed=True),
                basis,
            ]
        )
    section.blocks.append(
        Table(
            key=f"key_{iso2.lower()}",
            title=_("%(country)s: key indicators, %(previous)s and %(year)s")
            % {"country": data.country_name(country), "previous": year - 1, "year": year},
            columns=[_("Indicator"), _("Unit"), str(year - 1), str(year), _("Change"), _("Change, %"), _("Basis")],
            rows=key_rows,
            note=_("Approved national values only; “–”: no approved value."),
        )
    )
    section.blocks.extend(_country_charts(data, country))
    section.blocks.append(_country_alerts_table(data, country))

    totals = completeness_totals(data)[iso2]
    pending = [row for row in data.snapshot["approval"] if row[0] == iso2 and row[1] == "submitted"]
    waiting = sum(row[2] for row in pending)
    section.blocks.append(
        Paragraph(
            _(
                "Data completeness: %(approved)d of the %(expected)d national values the catalogue expects for "
                "%(year)s are approved (%(share)s%%); %(waiting)d values of all places were still waiting for "
                "approval when the snapshot was taken."
            )  # fmt: skip
            % {
                "approved": totals["approved"],
                "expected": totals["expected"],
                "year": year,
                "share": format_number(totals["share"], data.language, decimals=0),
                "waiting": waiting,
            }
        )
    )
    return section


def _country_charts(data: _Data, country: dict) -> list[Chart]:
    iso2, year = country["iso2"], data.year
    result = []
    ifpa_series = defaultdict(list)
    for row in data.scores_by_country[iso2]:
        if row[1] == "ifpa" and row[5] is not None and periods.frequency_of(row[4]) == periods.MONTHLY:
            ifpa_series[row[2]].append((row[4], row[5]))
    if ifpa_series:
        title = _("%(country)s: monthly food price anomalies (IFPA), %(year)s") % {
            "country": data.country_name(country),
            "year": year,
        }
        series = [
            charts.Series(
                name=data.indicator_name(code), points=[_point(period, score) for period, score in sorted(rows)]
            )
            for code, rows in sorted(ifpa_series.items())
        ]
        spec = charts.timeseries_chart(
            title=title,
            unit=_("IFPA"),
            series=series,
            thresholds=[
                charts.Threshold(0.5, _("moderately high"), 1),
                charts.Threshold(1.0, _("abnormally high"), 2),
            ],
            frequency=periods.MONTHLY,
        )
        result.append(Chart(key=f"ifpa_{iso2.lower()}", title=title, spec=spec))

    price_codes = [
        code
        for code, indicator in data.indicators.items()
        if indicator["category"] == PRICE_CATEGORY and indicator["is_key"] and data.values_in_year(code, iso2, year)
    ]
    if price_codes:
        first = year - 2
        title = _("%(country)s: retail prices, %(first)s–%(year)s") % {
            "country": data.country_name(country),
            "first": first,
            "year": year,
        }
        series = [
            charts.Series(
                name=data.indicator_name(code),
                points=[
                    _point(period, value)
                    for period, value, _flag, _id in data.series[(code, iso2)]
                    if first <= int(period[:4]) <= year
                ],
            )
            for code in price_codes
        ]
        spec = charts.timeseries_chart(
            title=title, unit=_("%(currency)s per unit") % {"currency": country["currency"]}, series=series,
            frequency=periods.MONTHLY,
        )  # fmt: skip
        result.append(Chart(key=f"prices_{iso2.lower()}", title=title, spec=spec))
    return result


def _point(period: str, value: float) -> "charts.Point":
    parsed = periods.parse_period(period)
    return charts.Point(period=period, start=date(parsed.start.year, parsed.start.month, 1), value=value)


def _country_alerts_table(data: _Data, country: dict) -> Table:
    """The year's alerts, grouped by indicator and place: how many periods, the highest level, the last one."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for alert in data.alerts_by_country[country["iso2"]]:
        groups[(alert["indicator"], alert["place"], alert["method"])].append(alert)
    rows = []
    for (code, place, method), alerts in groups.items():
        worst = max(alerts, key=lambda alert: (alert["level"], alert["period"]))
        rows.append(
            (
                -worst["level"],
                -len(alerts),
                data.indicator_name(code),
                [
                    data.indicator_name(code),
                    place or _("national"),
                    _method_label(method),
                    len(alerts),
                    _level_cell(worst["level"]),
                    max(alert["period"] for alert in alerts),
                    worst["sentence"].get(data.language) or worst["sentence"].get("en", ""),
                ],
            )
        )
    rows.sort(key=lambda row: row[:3])
    shown = [row[3] for row in rows[:ALERT_ROWS_PER_STATE]]
    note = (
        ""
        if rows
        else _("No alert was raised for %(country)s in %(year)s.")
        % {
            "country": data.country_name(country),
            "year": data.year,
        }
    )
    if len(rows) > ALERT_ROWS_PER_STATE:
        note = _("The %(shown)d most serious of %(total)d; the Excel annex lists every alert.") % {
            "shown": ALERT_ROWS_PER_STATE,
            "total": len(rows),
        }
    return Table(
        key=f"alerts_{country['iso2'].lower()}",
        title=_("%(country)s: alerts of %(year)s") % {"country": data.country_name(country), "year": data.year},
        columns=[
            _("Indicator"),
            _("Place"),
            _("Method"),
            _("Periods"),
            _("Highest level"),
            _("Latest"),
            _("Most serious alert"),
        ],  # fmt: skip
        rows=shown,
        note=note,
    )


def _method_label(method: str) -> str:
    return {
        "ifpa": _("FAO Indicator of Food Price Anomalies (IFPA)"),
        "alps": _("WFP Alert for Price Spikes (ALPS)"),
        "bands": _("threshold bands"),
        "zscore": _("z-score against own history"),
        "modified_zscore": _("modified z-score against own history"),
        "trend": _("consecutive rise"),
    }.get(method, method)


# --- annexes ------------------------------------------------------------------------------------------


def _methods_section(data: _Data, narratives: dict) -> Section:
    section = Section(
        key="methods",
        title=_("Annex A. Methods and sources"),
        narrative=narratives.get(("methods", ""), ""),
        blocks=[
            Paragraph(
                _(
                    "Every figure in this report is computed from values approved by the national authorities and "
                    "frozen in a snapshot on %(date)s. Alert levels use one scale for every method: normal, watch, "
                    "warning, emergency."
                )
                % {"date": data.snapshot["taken_at"][:10]}
            ),
        ],
    )
    method_rows = [
        [_method_label("ifpa"), _("FAO, SDG indicator 2.c.1 metadata 02-0c-01 (2021)"),
         _("≥ 1 abnormally high (warning); 0.5 to < 1 moderately high (watch)")],
        [_method_label("alps"), _("WFP, Technical Guidance Note on ALPS (2014)"),
         _("< 0.25 normal; 0.25 to < 1 stress; 1 to < 2 alert; ≥ 2 crisis")],
        [_method_label("bands"), _("WHO/UNICEF prevalence thresholds (de Onis et al. 2019); WFP CARI"),
         _("very low and low normal; medium watch; high warning; very high emergency")],
        [_method_label("zscore"), _("DHIS2 outlier detection"), _("score above 3: watch")],
        [_method_label("modified_zscore"), _("DHIS2 outlier detection"), _("score above 3: watch")],
        [_("regional share rule"), _("FAO, SDG 2.c.1 regional aggregation"),
         _("a majority of the five states with high prices")],
        [_("regional cereal balance"), _("FAO GIEWS; AMIS"),
         _("production − utilisation; exporters' surplus ÷ importers' needs")],
    ]  # fmt: skip
    section.blocks.append(
        Table(
            key="methods", title=_("Alert methods"), columns=[_("Method"), _("Source"), _("Levels")], rows=method_rows
        )
    )
    section.blocks.append(
        Table(
            key="rules",
            title=_("Alert rules in force when the snapshot was taken"),
            columns=[_("Rule"), _("Method"), _("Indicators"), _("Parameters")],
            rows=[
                [
                    rule["name"],
                    _method_label(rule["method"]),
                    ", ".join(rule["indicators"]),
                    "; ".join(f"{key} = {value}" for key, value in sorted(rule["parameters"].items())),
                ]
                for rule in data.snapshot["rules"]
            ],
        )
    )
    section.blocks.append(
        Table(
            key="indicators",
            title=_("Indicators and their sources"),
            columns=[_("Code"), _("Indicator"), _("Unit"), _("Frequency"), _("Source"), _("Publisher's code")],
            rows=[
                [
                    code,
                    data.indicator_name(code),
                    indicator["unit"],
                    _frequency_label(indicator["frequency"]),
                    indicator["source"] or (_("derived: %(formula)s") % {"formula": indicator["formula"]}),
                    indicator["sdg_code"],
                ]  # fmt: skip
                for code, indicator in data.indicators.items()
            ],
        )
    )
    return section


def _frequency_label(frequency: str) -> str:
    return {"annual": _("annual"), "quarterly": _("quarterly"), "monthly": _("monthly")}.get(frequency, frequency)


def _completeness_annex(data: _Data) -> Section:
    totals = completeness_totals(data)
    summary_rows = [
        [
            data.country_name(country),
            totals[country["iso2"]]["expected"],
            totals[country["iso2"]]["approved"],
            totals[country["iso2"]]["submitted"],
            totals[country["iso2"]]["draft"],
            totals[country["iso2"]]["rejected"],
            totals[country["iso2"]]["missing"],
            Number(totals[country["iso2"]]["share"], 0, suffix="%"),
        ]
        for country in data.countries
    ]
    columns = [_("Expected"), _("Approved"), _("Awaiting approval"), _("Draft"), _("Rejected"), _("Missing"),
               _("Complete")]  # fmt: skip
    detail_rows = []
    for (iso2, code), row in completeness_rows(data).items():
        detail_rows.append(
            [
                data.name_of(iso2),
                data.indicator_name(code),
                row["expected"],
                row["approved"],
                row["submitted"],
                row["draft"],
                row["rejected"],
                row["missing"],
                Number(100 * row["approved"] / row["expected"], 0, suffix="%"),
            ]
        )
    return Section(
        key="completeness",
        title=_("Annex B. Data completeness, %(year)s") % {"year": data.year},
        blocks=[
            Paragraph(
                _(
                    "Expected: the periods of the year the catalogue asks for (12 for a monthly indicator, 4 for a "
                    "quarterly one, 1 for an annual one), national level, entered indicators only. Counted when the "
                    "snapshot was taken."
                )
            ),
            Table(
                key="completeness_states",
                title=_("Completeness by state"),
                columns=[_("State")] + columns,
                rows=summary_rows,
            ),  # fmt: skip
            Table(
                key="completeness_indicators",
                title=_("Completeness by state and indicator"),
                columns=[_("State"), _("Indicator")] + columns,
                rows=detail_rows,
            ),
        ],
    )


def _observations_table(data: _Data) -> Table:
    """Every approved observation the report rests on, with its database id (the Excel annex only)."""
    rows = [
        [obs_id, data.name_of(iso2), code, data.indicator_name(code), period, Number(value, 6), flag]
        for obs_id, code, iso2, period, value, flag in sorted(
            data.snapshot["observations"], key=lambda row: (row[2], row[1], row[3])
        )
    ]
    return Table(
        key="observations",
        title=_("Approved observations used (snapshot)"),
        columns=[_("Observation id"), _("State"), _("Code"), _("Indicator"), _("Period"), _("Value"), _("Flag")],
        rows=rows,
    )


def _all_alerts_table(data: _Data) -> Table:
    rows = [
        [
            alert["id"],
            data.name_of(alert["country"]),
            data.indicator_name(alert["indicator"]),
            alert["place"] or _("national"),
            alert["period"],
            _method_label(alert["method"]),
            _level_cell(alert["level"]),
            Number(alert["score"], 2),
            alert["sentence"].get(data.language) or alert["sentence"].get("en", ""),
        ]  # fmt: skip
        for alert in data.snapshot["alerts"]
    ]
    return Table(
        key="alerts_all",
        title=_("Every alert of the year (snapshot)"),
        columns=[
            _("Alert id"),
            _("State"),
            _("Indicator"),
            _("Place"),
            _("Period"),
            _("Method"),
            _("Level"),
            _("Score"),
            _("Alert"),
        ],  # fmt: skip
        rows=rows,
    )
