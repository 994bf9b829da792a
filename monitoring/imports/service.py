"""The one import service behind every door (command line, admin upload, load_demo_data).

    parse (monitoring/imports/<format>.py) -> validate every row (pandas, vectorised) -> all or nothing:
    one transaction that creates the file's markets, bulk-upserts the observations keyed on
    (indicator, country, place_key, period) and writes one history row (door "import") per changed one.

Validation runs in chunks of CHUNK_ROWS rows, and each valid chunk is staged as soon as it is checked, so
the database loads one chunk while Python checks the next; duplicates across chunks are checked at the
end. Any error anywhere refuses the whole file and the transaction takes back what was staged or written.

PostgreSQL: each chunk is COPied into a temporary table by a worker thread on the same connection (in
binary form, built by numpy, when its flag, source and comment hold one value each; else as CSV). Then,
once: an UPDATE ... FROM of the existing rows whose values differ and, in the same statement (one
snapshot), a DELETE from the temporary table of the keys found; a plain INSERT of the rest (joins planned
without nested loops). Each statement's RETURNING feeds the history INSERT in the same statement. A plain
INSERT skips ON CONFLICT's speculative insertion (a third of the write); if another transaction commits
one of those keys meanwhile, the INSERT is undone to its savepoint and INSERT ... ON CONFLICT DO UPDATE
takes the rows instead.
SQLite: per chunk, executemany into a temporary table, then set-based INSERT, UPDATE ... FROM and the
history INSERT. Both compare values in the database, so importing the same file twice changes nothing.
"""

import hashlib
import io
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from countries.models import Country, Market, Region
from monitoring import permissions
from monitoring.imports import faostat, sdg, template, wfp
from monitoring.imports.reading import CANONICAL_COLUMNS, FileRefused, ParsedFile
from monitoring.models import Door, ImportBatch, Indicator, Observation, PeriodApproval

PARSERS = {
    ImportBatch.Format.TEMPLATE: template.parse,
    ImportBatch.Format.SDG: sdg.parse,
    ImportBatch.Format.WFP: wfp.parse,
    ImportBatch.Format.FAOSTAT: faostat.parse,
}
# The report keeps this many errors (the counts are always complete); a file with more is wrong throughout.
MAX_STORED_ERRORS = 5000
HISTORY_DOOR = Door.IMPORT.value
KEY_COLUMNS = ["indicator_id", "country_id", "place_key", "period"]
WRITE_COLUMNS = [
    "indicator_id",
    "country_id",
    "region_id",
    "market_id",
    "place_key",
    "period",
    "period_start",
    "value",
    "flag",
    "source",
    "comment",
]
ALLOWED_FLAGS = {"", "<", ">", "E"}
# Rows validated and written at a time: on PostgreSQL one chunk is inserted while the next is validated.
CHUNK_ROWS = 250_000


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ValidatedRows:
    """What validating rows gives: the valid ones ready to write, the errors, the row numbers refused and
    the keys of the rows whose key could be read (for the file-wide duplicate check)."""

    rows: pd.DataFrame
    errors: list[dict] = field(default_factory=list)
    bad_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    keys: pd.DataFrame | None = None


@dataclass
class References:
    """What validation looks up, read once per file, so that validating a chunk never waits on the
    database (on PostgreSQL the previous chunk is being written meanwhile)."""

    country_ids: dict[str, int]
    indicators: dict[str, Indicator]
    regions: dict[str, Region]
    # (country id, market code) -> its region id: the markets known, and those the file declares (WFP)
    markets: dict[tuple[int | None, str], int | None]
    # the countries the user may enter data for; None for the system (command line, demo data)
    enterable: set[int] | None
    # a clerk's import: approved or submitted values are not overwritten (administrators and the system may)
    workflow_rules: bool

    @classmethod
    def load(cls, parsed: ParsedFile, *, user=None, system: bool = False) -> "References":
        country_ids: dict[str, int] = {}
        for country in Country.objects.all():
            for code in (country.iso2, country.iso3, str(country.m49), f"{country.m49:03d}"):
                country_ids[code.upper()] = country.pk
        regions = {region.code: region for region in Region.objects.all()}
        markets = {
            (country_id, code): region_id
            for country_id, code, region_id in Market.objects.values_list("country_id", "code", "region_id")
        }
        if parsed.markets is not None and len(parsed.markets):
            for country_code, code, region_code in parsed.markets[["country", "code", "region"]].itertuples(
                index=False
            ):
                region = regions.get(region_code) if region_code else None
                markets.setdefault((country_ids.get(str(country_code).upper()), code), region.pk if region else None)
        return cls(
            country_ids=country_ids,
            indicators={indicator.code: indicator for indicator in Indicator.objects.all()},
            regions=regions,
            markets=markets,
            enterable=None if system else set(permissions.countries_enterable(user)),
            workflow_rules=not system and not permissions.is_administrator(user),
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_observations_file(
    *,
    path: Path | str,
    file_format: str,
    user=None,
    door: str = Door.COMMAND,
    dry_run: bool = False,
    status: str | None = None,
    file_name: str | None = None,
) -> ImportBatch:
    """Parse, validate every row and (unless `dry_run` or any row is invalid) write them all in one
    transaction. Returns the saved ImportBatch: imported, refused (with the per-row errors) or dry_run.

    `user=None` acts as the system (command line without --user). `status` is what new or changed
    observations become (default draft); published data loaded by load_demo_data passes approved.
    The batch also carries, unsaved, `skipped`: rows the format deliberately leaves out, by reason.
    """
    path = Path(path)
    if file_format not in PARSERS:
        raise ValueError(f"Unknown import format {file_format!r}; use one of {', '.join(PARSERS)}.")
    if status is not None and status not in Observation.Status.values:
        raise ValueError(f"Unknown observation status {status!r}.")
    acting_user = user if user is not None and getattr(user, "is_authenticated", False) else None
    batch = ImportBatch(
        file_name=(file_name or path.name)[:255],
        file_hash=file_sha256(path),
        format=file_format,
        door=door,
        created_by=acting_user,
    )
    batch.skipped = {}
    try:
        parsed = PARSERS[file_format](path)
    except FileRefused as refused:
        return _batch_refuse(batch, refused.errors, rows_rejected=0)
    batch.skipped = parsed.skipped
    batch.rows_read = len(parsed.rows)
    if batch.rows_read == 0 and not parsed.errors:
        return _batch_refuse(
            batch,
            [{"row": 1, "column": "", "value": "", "reason": _("The file has no rows to import.")}],
            rows_rejected=0,
        )
    references = References.load(parsed, user=acting_user, system=user is None)
    batch.status = ImportBatch.Status.DRY_RUN if dry_run else ImportBatch.Status.IMPORTED
    try:
        with transaction.atomic():
            batch.save()
            counts = _validate_and_write(parsed, references, batch=batch, user=acting_user, status=status)
            if dry_run:  # the real write, rolled back: a dry run's counts are exactly those of the import
                transaction.set_rollback(True)
    except _Refused as refused:
        batch.pk, batch._state.adding = None, True  # the batch row went with the rollback
        return _batch_refuse(batch, refused.errors, rows_rejected=refused.rows_rejected)
    _batch_count(batch, counts)
    if dry_run:  # recorded afresh: its row went with the rollback
        batch.pk, batch._state.adding = None, True
        batch.save()
    else:
        batch.save(update_fields=["rows_created", "rows_updated", "rows_unchanged"])
    return batch


class _Refused(Exception):
    def __init__(self, errors: list[dict], rows_rejected: int):
        super().__init__(f"{rows_rejected} rows refused")
        self.errors, self.rows_rejected = errors, rows_rejected


def _validate_and_write(
    parsed: ParsedFile, references: References, *, batch: ImportBatch, user, status
) -> ImportCounts:
    """Validate the file chunk by chunk and write each valid chunk as soon as it is checked; on PostgreSQL the
    writes run in a second thread, so the database inserts one chunk while Python checks the next. Any error,
    in any chunk or across chunks (duplicates), raises _Refused with the whole report, and the caller's
    transaction takes every write back: all or nothing, as if the file had been checked first."""
    writer = _ChunkWriter(parsed, batch=batch, user=user, status=status)
    checked = []
    try:
        for start in range(0, len(parsed.rows), CHUNK_ROWS):
            # A failed write aborted the transaction: raise its own error, not the "transaction aborted" a later
            # query would meet. A clerk's validation queries the database (workflow rules): it waits for the
            # writes first; other imports' validation does not touch the database and goes on meanwhile.
            writer.raise_failure(wait=references.workflow_rules)
            chunk = observations_validate(parsed.rows.iloc[start : start + CHUNK_ROWS], parsed, references)
            checked.append(chunk)
            # A chunk with an error, or with a key twice (refused below), is not written, nor any after it.
            if chunk.errors or chunk.keys.duplicated(KEY_COLUMNS).any():
                writer.stop()
            else:
                writer.write(chunk.rows)
        labels = {name: parsed.column_labels.get(name, name) for name in CANONICAL_COLUMNS}
        if checked:
            checked.append(duplicates_check(pd.concat([chunk.keys for chunk in checked]), labels))
        errors = [*parsed.errors, *(error for chunk in checked for error in chunk.errors)]
        if errors:
            bad_rows = {int(row) for chunk in checked for row in chunk.bad_rows}
            bad_rows |= {error["row"] for error in parsed.errors}
            raise _Refused(errors, len(bad_rows))
        return writer.finish()
    finally:
        writer.close()


def _batch_count(batch: ImportBatch, counts: ImportCounts) -> None:
    batch.rows_created, batch.rows_updated, batch.rows_unchanged = counts.created, counts.updated, counts.unchanged


def _batch_refuse(batch: ImportBatch, errors: list[dict], *, rows_rejected: int) -> ImportBatch:
    # A null character cannot be stored in PostgreSQL's JSON: the report shows it as the symbol for null.
    errors = [
        {key: value.replace("\x00", "\u2400") if isinstance(value, str) else value for key, value in error.items()}
        for error in errors
    ]
    errors = sorted(errors, key=lambda error: (error["row"], error["column"]))
    batch.status = ImportBatch.Status.REFUSED
    batch.rows_rejected = rows_rejected or len({error["row"] for error in errors})
    batch.errors = errors[:MAX_STORED_ERRORS]
    batch.save()
    return batch


# --- validation -------------------------------------------------------------------------------------


def _per_value(series: pd.Series, transform) -> pd.Series:
    """`transform` (a vectorised function of a Series) applied once per distinct value and spread back:
    a file repeats a few dozen codes and a few hundred periods over a million rows."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    done = pd.Series(transform(pd.Series(uniques, dtype=object)))
    return pd.Series(done.to_numpy()[codes], index=series.index)


def _period_parts(periods: pd.Series) -> pd.DataFrame:
    """For each distinct period text: its frequency ('' when it is not a period), year, first day and an
    upper bound of its last day ("YYYY-MM-31" sorts after every day of the month)."""
    found = np.select(
        [
            periods.str.fullmatch(r"\d{4}"),
            periods.str.fullmatch(r"\d{4}-Q[1-4]"),
            periods.str.fullmatch(r"\d{4}-(?:0[1-9]|1[0-2])"),
        ],
        ["annual", "quarterly", "monthly"],
        "",
    )
    parts = pd.DataFrame({"found": found}, index=periods.index)
    parts["year"] = pd.to_numeric(periods.str[:4].where(parts["found"] != ""), errors="coerce")
    start_month = pd.Series("01", index=periods.index)
    monthly, quarterly = parts["found"] == "monthly", parts["found"] == "quarterly"
    start_month[monthly] = periods[monthly].str[5:7]
    start_month[quarterly] = ((periods[quarterly].str[6].astype(int) - 1) * 3 + 1).astype(str).str.zfill(2)
    end_month = start_month.copy()
    end_month[parts["found"] == "annual"] = "12"
    end_month[quarterly] = ((periods[quarterly].str[6].astype(int)) * 3).astype(str).str.zfill(2)
    parts["start"] = periods.str[:4] + "-" + start_month + "-01"
    parts["end"] = periods.str[:4] + "-" + end_month + "-31"
    return parts


def _value_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(numbers, bound, missing) of the value cells. Plain numbers are parsed in one pass; only the cells
    that are not (empty, "<2.5", "1 000", "12,5", text) go through the slower text rules."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    bound = pd.Series("", index=values.index, dtype=object)
    missing = pd.Series(False, index=values.index)
    slow = numbers.isna()
    if slow.any():
        raw_value = values[slow].str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
        slow_bound = raw_value.str[:1].where(raw_value.str[:1].isin(["<", ">"]), "")
        number_text = raw_value.where(slow_bound == "", raw_value.str[1:])
        decimal_comma = number_text.str.fullmatch(r"-?\d+,\d+")
        number_text = number_text.where(~decimal_comma, number_text.str.replace(",", ".", regex=False))
        numbers[slow] = pd.to_numeric(number_text, errors="coerce").astype(float)
        bound[slow] = slow_bound
        missing[slow] = raw_value == ""
    return numbers, bound, missing


class _Problems:
    """Collects refused cells as frames (vectorised) and remembers which rows are bad."""

    def __init__(self, frame: pd.DataFrame, labels: dict[str, str]):
        self.frame = frame
        self.labels = labels
        self.parts: list[pd.DataFrame] = []
        self.bad = pd.Series(False, index=frame.index)

    def add(self, mask: pd.Series, column: str, reason) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        rows = self.frame.loc[mask]
        if column == "value" and "value_column" in rows.columns:
            column_label = rows["value_column"].fillna(self.labels["value"]).astype(str)
        else:
            column_label = self.labels.get(column, column)
        self.parts.append(
            pd.DataFrame(
                {
                    "row": rows["row"].astype(int),
                    "column": column_label,
                    "value": rows[column].astype(str) if column in rows.columns else "",
                    "reason": reason.loc[mask] if isinstance(reason, pd.Series) else str(reason),
                }
            )
        )
        self.bad |= mask

    def errors(self) -> list[dict]:
        if not self.parts:
            return []
        table = pd.concat(self.parts, ignore_index=True).sort_values(["row", "column"], kind="stable")
        table = table.head(MAX_STORED_ERRORS)
        return [
            {"row": int(row), "column": str(column), "value": str(value), "reason": str(reason)}
            for row, column, value, reason in table.itertuples(index=False, name=None)
        ]


def observations_validate(rows: pd.DataFrame, parsed: ParsedFile, references: References) -> ValidatedRows:
    """Check `rows` (all or a chunk of `parsed.rows`) against the catalogue, the places, the periods, the
    ranges and the user's scope. Returns the rows ready to write (ids resolved, periods' start dates, flags),
    the errors found and the keys of the rows; duplicates across the file are `duplicates_check`'s."""
    frame = rows.reset_index(drop=True).copy()
    for name in CANONICAL_COLUMNS:
        if name not in frame.columns:
            frame[name] = ""
        elif name == "value":  # mostly distinct numbers: white space is handled by _value_numbers
            frame[name] = frame[name].fillna("").astype(str)
        else:
            frame[name] = _per_value(frame[name].fillna("").astype(str), lambda texts: texts.str.strip())
    labels = {name: parsed.column_labels.get(name, name) for name in CANONICAL_COLUMNS}
    problems = _Problems(frame, labels)

    # Countries: ISO alpha-2, alpha-3 or UN M49.
    country_ids = references.country_ids
    frame["country_id"] = _per_value(frame["country"], lambda codes: codes.str.upper().map(country_ids)).astype(float)
    missing = frame["country"] == ""
    problems.add(missing, "country", _("The country is missing."))
    problems.add(
        ~missing & frame["country_id"].isna(),
        "country",
        _(
            "Unknown country: write the ISO code of one of the five states "
            "(KZ, KG, TJ, TM, UZ or KAZ, KGZ, TJK, TKM, UZB)."
        ),
    )

    # Indicators: the catalogue code; derived indicators are computed, never imported.
    indicators = references.indicators
    frame["indicator"] = _per_value(
        frame["indicator"], lambda codes: codes.where(codes.isin(indicators), codes.str.upper())
    )
    indicator_ids = {code: item.pk for code, item in indicators.items()}
    frame["indicator_id"] = _per_value(frame["indicator"], lambda codes: codes.map(indicator_ids)).astype(float)
    missing = frame["indicator"] == ""
    problems.add(missing, "indicator", _("The indicator is missing."))
    problems.add(
        ~missing & frame["indicator_id"].isna(),
        "indicator",
        _("Unknown indicator code: see the indicator list in the template or the admin."),
    )
    derived = frame["indicator"].isin([code for code, item in indicators.items() if item.is_derived])
    problems.add(derived, "indicator", _("This indicator is derived from others and is computed, not imported."))

    # Periods: YYYY, YYYY-Qn or YYYY-MM, matching the indicator's frequency.
    by_id = {item.pk: item for item in indicators.values()}
    frequency = frame["indicator_id"].map({pk: item.frequency for pk, item in by_id.items()})
    period = frame["period"]
    period_codes, distinct_periods = pd.factorize(period, use_na_sentinel=False)
    parts = _period_parts(pd.Series(distinct_periods, dtype=object)).iloc[period_codes].set_axis(frame.index)
    found = parts["found"]
    problems.add(period == "", "period", _("The period is missing."))
    problems.add(
        (period != "") & (found == ""),
        "period",
        _("Not a period: write YYYY, YYYY-Qn or YYYY-MM (for example 2021-07)."),
    )
    mismatch = (found != "") & frequency.notna() & (found != frequency)
    if mismatch.any():
        reason = pd.Series("", index=frame.index)
        for (found_value, expected), _rows in frame.loc[mismatch].groupby([found[mismatch], frequency[mismatch]]):
            reason[_rows.index] = _("A %(found)s period, but this indicator is %(expected)s.") % {
                "found": _(found_value),
                "expected": _(expected),
            }
        problems.add(mismatch, "period", reason)
    year = parts["year"]
    problems.add((found != "") & ((year < 1900) | (year > 2100)), "period", _("The year is out of range (1900–2100)."))
    frame["period_start"] = parts["start"]
    period_end = parts["end"]

    # Values: numbers; published bounds ("<2.5") become the number and the flag, never a plain number.
    numbers, bound, missing = _value_numbers(frame["value"])
    problems.add(missing, "value", _("The value is missing."))
    problems.add(~missing & (numbers.isna() | ~np.isfinite(numbers)), "value", _("The value is not a number."))
    frame["value_number"] = numbers

    flag = _per_value(frame["flag"], lambda flags: flags.str.upper())
    problems.add(~flag.isin(ALLOWED_FLAGS), "flag", _("Unknown flag: leave it empty, or write <, > or E."))
    problems.add(
        (flag != "") & (bound != "") & (flag != bound),
        "flag",
        _("The flag contradicts the bound written in the value."),
    )
    frame["flag"] = flag.where(flag != "", bound)

    valid_min = frame["indicator_id"].map({pk: item.valid_min for pk, item in by_id.items()})
    valid_max = frame["indicator_id"].map({pk: item.valid_max for pk, item in by_id.items()})
    below = valid_min.notna() & (numbers < valid_min)
    above = valid_max.notna() & (numbers > valid_max)
    for mask in (below, above):
        if mask.any():
            reason = pd.Series("", index=frame.index)
            reason[mask] = [
                by_id[indicator_id].range_error(value)
                for indicator_id, value in zip(frame.loc[mask, "indicator_id"], numbers[mask], strict=True)
            ]
            problems.add(mask, "value", reason)

    # Regions: ISO 3166-2, of the row's country, valid in the period (units changed in 2018 and 2022).
    regions = references.regions
    frame["region"] = _per_value(frame["region"], lambda codes: codes.str.upper())
    has_region = frame["region"] != ""
    region_ids = {code: region.pk for code, region in regions.items()}
    frame["region_id"] = _per_value(frame["region"], lambda codes: codes.map(region_ids)).astype(float)
    problems.add(
        has_region & frame["region_id"].isna(),
        "region",
        _("Unknown region: write its ISO 3166-2 code (for example KG-C)."),
    )
    region_countries = {code: region.country_id for code, region in regions.items()}
    region_country = _per_value(frame["region"], lambda codes: codes.map(region_countries)).astype(float)
    problems.add(
        has_region & region_country.notna() & frame["country_id"].notna() & (region_country != frame["country_id"]),
        "region",
        _("The region is not in this country."),
    )
    starts = {code: r.valid_from.isoformat() for code, r in regions.items() if r.valid_from}
    ends = {code: r.valid_to.isoformat() for code, r in regions.items() if r.valid_to}
    valid_from = _per_value(frame["region"], lambda codes: codes.map(starts))
    valid_to = _per_value(frame["region"], lambda codes: codes.map(ends))
    problems.add(
        has_region
        & (found != "")
        & ((valid_from.notna() & (valid_from > period_end)) | (valid_to.notna() & (valid_to < frame["period_start"]))),
        "region",
        _("The region did not exist in this period (admin-1 units changed); use the unit valid then."),
    )

    # Markets: the code within the country, known already or declared by the file (WFP).
    known_markets = references.markets
    has_market = frame["market"] != ""
    market_known = pd.Series(False, index=frame.index)
    if has_market.any():
        with_market = frame.loc[has_market]
        market_key = list(zip(with_market["country_id"], with_market["market"], strict=True))
        market_known[has_market] = [key in known_markets for key in market_key]
        market_region = pd.Series([known_markets.get(key) for key in market_key], index=with_market.index, dtype=float)
        frame.loc[has_market & ~has_region, "region_id"] = market_region
    problems.add(
        has_market & frame["country_id"].notna() & ~market_known,
        "market",
        _("Unknown market for this country: add it in the admin (Markets) or use its code."),
    )
    frame["place_key"] = np.where(has_market, "market:" + frame["market"], frame["region"])

    too_long = _per_value(frame["source"], lambda texts: texts.str.len() > 200)
    problems.add(too_long, "source", _("The source is longer than 200 characters."))
    for name in ("source", "comment"):  # PostgreSQL text cannot hold it
        has_null = _per_value(frame[name], lambda texts: texts.str.contains("\x00", regex=False))
        problems.add(has_null, name, _("The cell contains a null character."))

    # Scope: a user enters data only for the states the policy lets them (never another state's).
    if references.enterable is not None:
        problems.add(
            frame["country_id"].notna() & ~frame["country_id"].isin(references.enterable),
            "country",
            _("You may not enter data for this country."),
        )

    # Approved values are not silently overwritten by a clerk's import; the system and administrators may.
    keyed = frame["country_id"].notna() & frame["indicator_id"].notna() & (found != "")
    if references.workflow_rules and keyed.any():
        _refuse_changes_in_workflow(frame, keyed & ~problems.bad, problems)

    valid = frame.loc[~problems.bad].copy()
    valid["value"] = valid["value_number"].astype(float)
    valid["market_code"] = valid["market"]
    for column in ("indicator_id", "country_id", "region_id"):
        valid[column] = valid[column].astype("Int64")
    valid["market_id"] = pd.Series(pd.NA, index=valid.index, dtype="Int64")
    return ValidatedRows(
        rows=valid,
        errors=problems.errors(),
        bad_rows=frame.loc[problems.bad, "row"].to_numpy(dtype="int64"),
        keys=frame.loc[keyed, ["row", *KEY_COLUMNS]],
    )


def duplicates_check(keys: pd.DataFrame, labels: dict[str, str]) -> ValidatedRows:
    """The same indicator, place and period twice in a file (keys: `row` and KEY_COLUMNS of every row
    whose key could be read, from all chunks): every repeat is an error naming the first row."""
    keys = keys.reset_index(drop=True)
    problems = _Problems(keys, labels)
    duplicate = keys.duplicated(KEY_COLUMNS, keep="first")
    if duplicate.any():
        first_row = keys.groupby(KEY_COLUMNS)["row"].transform("first")
        reason = pd.Series("", index=keys.index)
        reason[duplicate] = [
            _("The same indicator, place and period as row %(row)s.") % {"row": int(row)}
            for row in first_row[duplicate]
        ]
        problems.add(duplicate, "period", reason)
    return ValidatedRows(
        rows=keys.iloc[0:0], errors=problems.errors(), bad_rows=keys.loc[duplicate, "row"].to_numpy(dtype="int64")
    )


def _refuse_changes_in_workflow(frame: pd.DataFrame, candidates: pd.Series, problems: _Problems) -> None:
    """The entry workflow's rules, for a clerk's import: an approved value or a locked (approved) period is
    not changed until the approver reopens it, and a submitted value waits for the approver's decision.
    Rows that would change nothing pass."""
    rows = frame.loc[candidates, [*KEY_COLUMNS, "value_number", "flag"]].reset_index()
    rows["indicator_id"] = rows["indicator_id"].astype(int)
    rows["country_id"] = rows["country_id"].astype(int)
    country_ids = rows["country_id"].unique().tolist()
    existing = pd.DataFrame(
        Observation.objects.filter(
            country_id__in=country_ids,
            indicator_id__in=rows["indicator_id"].unique().tolist(),
            period__in=rows["period"].unique().tolist(),
        ).values_list("indicator_id", "country_id", "place_key", "period", "value", "flag", "status"),
        columns=[*KEY_COLUMNS, "existing_value", "existing_flag", "existing_status"],
    )
    merged = rows.merge(existing, on=KEY_COLUMNS, how="left")
    changes = merged["existing_value"].isna() | (merged["existing_value"] != merged["value_number"])
    changes |= merged["existing_flag"].notna() & (merged["existing_flag"] != merged["flag"])
    locked = set(
        PeriodApproval.objects.locked()
        .filter(country_id__in=country_ids, period__in=rows["period"].unique().tolist())
        .values_list("country_id", "period")
    )
    in_locked_period = pd.Series(
        [
            (country_id, period) in locked
            for country_id, period in zip(merged["country_id"], merged["period"], strict=True)
        ],
        index=merged.index,
    )
    approved = changes & ((merged["existing_status"] == Observation.Status.APPROVED) | in_locked_period)
    submitted = changes & ~approved & (merged["existing_status"] == Observation.Status.SUBMITTED)
    for mask, reason in (
        (approved, _("This period is approved; ask the approver to reopen it.")),
        (submitted, _("This value is submitted and awaits the approver's decision; it cannot be changed now.")),
    ):
        problems.add(pd.Series(frame.index.isin(merged.loc[mask, "index"]), index=frame.index), "value", reason)


# --- writing ----------------------------------------------------------------------------------------


class _ChunkWriter:
    """Writes validated chunks in order, in the caller's transaction. On PostgreSQL each write runs in one
    worker thread on the same connection (psycopg connections are thread-safe: statements queue on the
    connection's lock), so the server inserts a chunk while the caller validates the next one; SQLite
    writes in the caller's thread. `finish` waits for every write and returns the summed counts; `close`
    (always called) cancels what has not started and waits for what has, before the transaction ends."""

    def __init__(self, parsed: ParsedFile, *, batch: ImportBatch, user, status: str | None):
        self.parsed = parsed
        self.markets: dict[tuple[int, str], int] | None = None
        self.parameters = {
            "status": status or Observation.Status.DRAFT,
            "compare_status": status is not None,
            "batch_id": batch.pk,
            "user_id": user.pk if user is not None else None,
            "now": timezone.now(),
            "reason": f"import #{batch.pk}: {batch.file_name}"[:100],
        }
        self.stopped = False
        self.counts = ImportCounts()
        self.postgres = connection.vendor == "postgresql"
        self.executor = ThreadPoolExecutor(max_workers=1) if self.postgres else None
        self.pending: list[Future] = []
        self.staged_rows = 0

    def write(self, rows: pd.DataFrame) -> None:
        if self.stopped or rows.empty:
            return
        if self.markets is None:  # the file's new markets, created once, before the first write
            self.markets = _markets_upsert(self.parsed)
        has_market = rows["market_code"] != ""
        if has_market.any():
            keys = zip(rows.loc[has_market, "country_id"].astype(int), rows.loc[has_market, "market_code"], strict=True)
            rows.loc[has_market, "market_id"] = [self.markets[key] for key in keys]
        if self.postgres:
            payload = _copy_payload(rows)
            connection.ensure_connection()
            if not self.staged_rows:
                self.pending.append(self.executor.submit(_staging_create, connection.connection))
            self.pending.append(self.executor.submit(_staging_copy, connection.connection, payload))
            self.staged_rows += len(rows)
        else:
            self._add(_write_sqlite(rows, **self.parameters))

    def stop(self) -> None:
        self.stopped = True

    def raise_failure(self, *, wait: bool) -> None:
        """Raise the error of a write that has failed, if any; with `wait`, of the writes still running too."""
        for future in self.pending:
            if (wait or future.done()) and future.exception() is not None:
                raise future.exception()

    def finish(self) -> ImportCounts:
        for future in self.pending:
            future.result()  # raises the staging's own error
        self.pending = []
        if self.staged_rows:
            self._add(_staging_write(connection.connection, rows=self.staged_rows, **self.parameters))
        return self.counts

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    def _add(self, counts: ImportCounts) -> None:
        self.counts.created += counts.created
        self.counts.updated += counts.updated
        self.counts.unchanged += counts.unchanged


def _markets_upsert(parsed: ParsedFile) -> dict[tuple[int, str], int]:
    """Create the markets a file declares that do not exist yet; returns (country id, code) -> market id."""
    if parsed.markets is not None and len(parsed.markets):
        countries = {}
        for country in Country.objects.all():
            countries[country.iso2] = countries[country.iso3] = country.pk
        regions = dict(Region.objects.values_list("code", "pk"))
        existing = set(Market.objects.values_list("country_id", "code"))
        new_markets = []
        for item in parsed.markets.drop_duplicates(["country", "code"]).itertuples(index=False):
            country_id = countries[str(item.country).upper()]
            if (country_id, item.code) in existing:
                continue
            new_markets.append(
                Market(
                    country_id=country_id,
                    code=item.code,
                    name=item.name,
                    region_id=regions.get(item.region) if item.region else None,
                    latitude=item.latitude if pd.notna(item.latitude) else None,
                    longitude=item.longitude if pd.notna(item.longitude) else None,
                )
            )
        for market in new_markets:
            market.full_clean(validate_unique=False, validate_constraints=False)
        Market.objects.bulk_create(new_markets)
    return {(country_id, code): pk for pk, country_id, code in Market.objects.values_list("pk", "country_id", "code")}


_OBSERVATION = "monitoring_observation"
_TEXT_NOT_NULL = "FORCE_NOT_NULL (place_key, flag, source, comment)"
_WRITTEN = ", ".join(WRITE_COLUMNS)
_INSERTED_COLUMNS = [
    *WRITE_COLUMNS, "status", "rejection_reason", "import_batch_id", "created_by_id", "updated_by_id", "created_at",
    "updated_at",
]  # fmt: skip
# Text columns that usually hold one value for a whole file: a chunk where they do is staged compactly.
_USUALLY_CONSTANT = ["flag", "source", "comment"]


_HISTORY = Observation.history.model._meta.db_table


@dataclass
class _CopyPayload:
    """A chunk as the PostgreSQL writer stages it. Either `binary`: the numeric columns and the codes of the
    place keys and periods in PostgreSQL's binary COPY format, with `places` and `periods` (the texts of
    those codes) and `constants` (flag, source and comment, one value each in the chunk: the usual file);
    or `text`: CSV of every column."""

    constants: dict[str, str] = field(default_factory=dict)
    text: str = ""
    binary: bytes = b""
    places: str = ""
    periods: str = ""


# One staged row in binary COPY format (big-endian): the field count, then each field's length and value.
_BINARY_ROW = np.dtype(
    [
        ("fields", ">i2"),
        *((name, spec) for column in ("indicator", "country", "region", "market") for name, spec in (
            (f"{column}_length", ">i4"), (column, ">i8"))),
        ("place_length", ">i4"), ("place", ">i4"),
        ("period_length", ">i4"), ("period", ">i4"),
        ("value_length", ">i4"), ("value", ">f8"),
    ]
)  # fmt: skip
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, no header extension
_BINARY_TRAILER = b"\xff\xff"


def _copy_payload(rows: pd.DataFrame) -> _CopyPayload:
    """Built in the caller's thread (pandas holds the interpreter lock; the writer's thread mostly waits on
    the server), while the previous chunk is being staged. The binary form costs numpy a few milliseconds
    where CSV costs pandas most of a second per 250,000 rows."""
    if any((rows[name] != rows[name].iloc[0]).any() for name in _USUALLY_CONSTANT):
        return _CopyPayload(text=rows[WRITE_COLUMNS].to_csv(index=False, header=False))  # floats exact
    place_codes, places = pd.factorize(rows["place_key"])
    period_codes, periods = pd.factorize(rows["period"])
    period_starts = rows["period_start"].to_numpy()[np.unique(period_codes, return_index=True)[1]]
    record = np.empty(len(rows), dtype=_BINARY_ROW)
    record["fields"] = 7
    for column, values, width in (
        ("indicator", rows["indicator_id"], 8),
        ("country", rows["country_id"], 8),
        ("region", rows["region_id"], 8),  # 0 stands for none (ids start at 1)
        ("market", rows["market_id"], 8),
        ("place", place_codes, 4),
        ("period", period_codes, 4),
        ("value", rows["value"], 8),
    ):
        record[f"{column}_length"] = width
        record[column] = values.fillna(0).to_numpy() if isinstance(values, pd.Series) else values
    return _CopyPayload(
        constants={name: str(rows[name].iloc[0]) for name in _USUALLY_CONSTANT},
        binary=_BINARY_HEADER + record.tobytes() + _BINARY_TRAILER,
        places=pd.DataFrame({"code": range(len(places)), "text": places}).to_csv(index=False, header=False),
        periods=pd.DataFrame({"code": range(len(periods)), "text": periods, "start": period_starts}).to_csv(
            index=False, header=False
        ),
    )


def _staging_create(raw_connection) -> None:
    with psycopg.ClientCursor(raw_connection) as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_rows, import_codes, import_places, import_periods")
        cursor.execute(
            """CREATE TEMPORARY TABLE import_rows (
                indicator_id bigint, country_id bigint, region_id bigint, market_id bigint, place_key varchar(80),
                period varchar(7), period_start date, value double precision, flag varchar(1),
                source varchar(200), comment text) ON COMMIT DROP"""
        )
        cursor.execute(
            """CREATE TEMPORARY TABLE import_codes (
                indicator_id bigint, country_id bigint, region_id bigint, market_id bigint, place integer,
                period integer, value double precision) ON COMMIT DROP"""
        )
        cursor.execute("CREATE TEMPORARY TABLE import_places (code integer, text varchar(80)) ON COMMIT DROP")
        cursor.execute(
            "CREATE TEMPORARY TABLE import_periods (code integer, text varchar(7), start date) ON COMMIT DROP"
        )


def _staging_copy(raw_connection, payload: _CopyPayload) -> None:
    """Stage one chunk in import_rows: the binary payload through import_codes and its two code tables (flag,
    source and comment as parameters), or the CSV one directly."""
    with psycopg.ClientCursor(raw_connection) as cursor:
        if payload.binary:
            cursor.execute("TRUNCATE import_codes, import_places, import_periods")
            for table, text in (("import_places", payload.places), ("import_periods", payload.periods)):
                with cursor.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (text))") as copy:
                    copy.write(text)
            with cursor.copy("COPY import_codes FROM STDIN WITH (FORMAT binary)") as copy:
                copy.write(payload.binary)
            cursor.execute(
                """INSERT INTO import_rows
                SELECT c.indicator_id, c.country_id, NULLIF(c.region_id, 0), NULLIF(c.market_id, 0), p.text,
                    t.text, t.start, c.value, %(flag)s, %(source)s, %(comment)s
                FROM import_codes c JOIN import_places p ON p.code = c.place JOIN import_periods t ON t.code = c.period
                """,
                payload.constants,
            )
            return
        # FORCE_NOT_NULL: an empty text cell is '' (not NULL); empty id cells stay NULL.
        copy_sql = f"COPY import_rows ({', '.join(WRITE_COLUMNS)}) FROM STDIN WITH (FORMAT csv, {_TEXT_NOT_NULL})"
        with cursor.copy(copy_sql) as copy:
            copy.write(payload.text)


def _staging_write(
    raw_connection, *, rows: int, status, compare_status, batch_id, user_id, now, reason
) -> ImportCounts:
    """The staged rows into the observation table, in three statements (see the module docstring). Speaks
    to the connection directly, as the staging does (psycopg, client-side binding as Django's cursors do)."""
    parameters = {
        "status": status,
        "batch_id": batch_id,
        "user_id": user_id,
        "now": now,
        "reason": reason,
        "door": HISTORY_DOOR,
    }
    with psycopg.ClientCursor(raw_connection) as cursor:
        # Temporary tables are never analysed automatically; and the observation table's statistics may be
        # stale (an empty table that just received a million rows). Joins over a million rows must not be
        # planned as nested loops on such estimates: hash or merge joins are linear whatever the estimate.
        cursor.execute("ANALYZE import_rows")
        cursor.execute("SELECT current_setting('enable_nestloop')")
        nested_loops = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")
        updated = _update_changed(cursor, compare_status, parameters)
        # Rows not in the table yet: a plain INSERT, without ON CONFLICT's speculative insertion (a third of
        # the write's time). Another transaction may commit one of these keys meanwhile; then the savepoint
        # is undone and the upsert takes the rows, as it would have from the start.
        cursor.execute("SAVEPOINT import_insert")
        try:
            created, _none_updated = _insert(cursor, parameters)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT import_insert")
            created, updated_late = _insert(cursor, parameters, on_conflict=_on_conflict_update(compare_status))
            updated += updated_late
        cursor.execute("RELEASE SAVEPOINT import_insert")
        cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [nested_loops])
        cursor.execute("DROP TABLE IF EXISTS import_rows")
    return ImportCounts(created=created, updated=updated, unchanged=rows - created - updated)


_HISTORY_COPY = f"""
    INSERT INTO {_HISTORY} (
        id, indicator_id, country_id, region_id, market_id, place_key, period, period_start, value,
        flag, status, source, comment, rejection_reason, import_batch_id, created_by_id, updated_by_id,
        created_at, door, history_date, history_change_reason, history_type, history_user_id)
    SELECT id, indicator_id, country_id, region_id, market_id, place_key, period, period_start, value,
        flag, status, source, comment, rejection_reason, import_batch_id, created_by_id, updated_by_id,
        created_at, %(door)s, %(now)s, %(reason)s, CASE WHEN created THEN '+' ELSE '~' END, %(user_id)s
    FROM written
"""
_COMPARED = ["value", "flag", "source", "comment", "region_id", "market_id"]


def _changed_condition(old: str, new: str, compare_status: bool) -> str:
    changed = (
        f"({', '.join(f'{old}.{name}' for name in _COMPARED)}) IS DISTINCT FROM "
        f"({', '.join(f'{new}.{name}' for name in _COMPARED)})"
    )
    return f"({changed} OR {old}.status IS DISTINCT FROM {new}.status)" if compare_status else changed


def _update_changed(cursor, compare_status: bool, parameters: dict) -> int:
    """Rewrite the existing observations whose values differ from the file's, with their history rows, and
    leave in import_rows only the keys not in the table. One statement, so one snapshot: a key another
    session commits meanwhile is neither updated nor removed, and the INSERT that follows meets it."""
    cursor.execute(
        f"""
        WITH incoming AS (
            SELECT {_WRITTEN}, %(status)s::varchar AS status FROM import_rows
        ), written AS (
            UPDATE {_OBSERVATION} AS o SET
                region_id = n.region_id, market_id = n.market_id, value = n.value, flag = n.flag,
                source = n.source, comment = n.comment, status = n.status, rejection_reason = '',
                import_batch_id = %(batch_id)s, updated_by_id = %(user_id)s, updated_at = %(now)s
            FROM incoming n
            WHERE o.indicator_id = n.indicator_id AND o.country_id = n.country_id AND o.place_key = n.place_key
                AND o.period = n.period AND {_changed_condition("o", "n", compare_status)}
            RETURNING o.*, false AS created
        ), history AS ({_HISTORY_COPY}
        ), found AS (
            DELETE FROM import_rows r USING {_OBSERVATION} e WHERE e.indicator_id = r.indicator_id
                AND e.country_id = r.country_id AND e.place_key = r.place_key AND e.period = r.period
        )
        SELECT count(*) FROM written
        """,
        parameters,
    )
    return cursor.fetchone()[0]


def _insert(cursor, parameters: dict, *, on_conflict: str = "") -> tuple[int, int]:
    """Insert the rows left in import_rows, with their history rows; `on_conflict` (for keys another
    transaction wrote while this import ran) turns it into an upsert. Returns (created, updated)."""
    cursor.execute(
        f"""
        WITH written AS (
            INSERT INTO {_OBSERVATION} AS o ({", ".join(_INSERTED_COLUMNS)})
            SELECT {_WRITTEN}, %(status)s, '', %(batch_id)s, %(user_id)s, %(user_id)s, %(now)s, %(now)s
            FROM import_rows
            {on_conflict}
            RETURNING o.*, (o.xmax = 0) AS created
        ), history AS ({_HISTORY_COPY})
        SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM written
        """,
        parameters,
    )
    return cursor.fetchone()


def _on_conflict_update(compare_status: bool) -> str:
    return f"""ON CONFLICT (indicator_id, country_id, place_key, period) DO UPDATE SET
        region_id = EXCLUDED.region_id, market_id = EXCLUDED.market_id, value = EXCLUDED.value,
        flag = EXCLUDED.flag, source = EXCLUDED.source, comment = EXCLUDED.comment,
        status = EXCLUDED.status, rejection_reason = '', import_batch_id = EXCLUDED.import_batch_id,
        updated_by_id = EXCLUDED.updated_by_id, updated_at = EXCLUDED.updated_at
    WHERE {_changed_condition("o", "EXCLUDED", compare_status)}"""


def _write_sqlite(rows: pd.DataFrame, *, status, compare_status, batch_id, user_id, now, reason) -> ImportCounts:
    now_text = connection.ops.adapt_datetimefield_value(now)
    records = rows[WRITE_COLUMNS].astype(object).where(rows[WRITE_COLUMNS].notna(), None)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS temp.import_rows")
        cursor.execute(
            """CREATE TEMPORARY TABLE import_rows (
                indicator_id integer, country_id integer, region_id integer, market_id integer, place_key text,
                period text, period_start text, value real, flag text, source text, comment text,
                existing_id integer, changed integer DEFAULT 0)"""
        )
        placeholders = ", ".join(["%s"] * len(WRITE_COLUMNS))
        cursor.executemany(
            f"INSERT INTO import_rows ({', '.join(WRITE_COLUMNS)}) VALUES ({placeholders})",
            list(records.itertuples(index=False, name=None)),
        )
        cursor.execute(
            f"""UPDATE import_rows SET existing_id = (
                SELECT o.id FROM {_OBSERVATION} o WHERE o.indicator_id = import_rows.indicator_id
                AND o.country_id = import_rows.country_id AND o.place_key = import_rows.place_key
                AND o.period = import_rows.period)"""
        )
        status_differs = " OR o.status IS NOT %s" if compare_status else ""
        cursor.execute(
            f"""UPDATE import_rows SET changed = EXISTS (
                SELECT 1 FROM {_OBSERVATION} o WHERE o.id = import_rows.existing_id AND (
                    o.value IS NOT import_rows.value OR o.flag IS NOT import_rows.flag
                    OR o.source IS NOT import_rows.source OR o.comment IS NOT import_rows.comment
                    OR o.region_id IS NOT import_rows.region_id OR o.market_id IS NOT import_rows.market_id
                    {status_differs}))
            WHERE existing_id IS NOT NULL""",
            [status] if compare_status else [],
        )
        cursor.execute(
            f"""INSERT INTO {_OBSERVATION} (
                indicator_id, country_id, region_id, market_id, place_key, period, period_start, value, flag,
                source, comment, status, rejection_reason, import_batch_id, created_by_id, updated_by_id,
                created_at, updated_at)
            SELECT indicator_id, country_id, region_id, market_id, place_key, period, period_start, value, flag,
                source, comment, %s, '', %s, %s, %s, %s, %s
            FROM import_rows WHERE existing_id IS NULL""",
            [status, batch_id, user_id, user_id, now_text, now_text],
        )
        cursor.execute(
            f"""UPDATE {_OBSERVATION} SET region_id = r.region_id, market_id = r.market_id, value = r.value,
                flag = r.flag, source = r.source, comment = r.comment, status = %s, rejection_reason = '',
                import_batch_id = %s, updated_by_id = %s, updated_at = %s
            FROM import_rows r WHERE r.existing_id = {_OBSERVATION}.id AND r.changed""",
            [status, batch_id, user_id, now_text],
        )
        cursor.execute(
            f"""INSERT INTO {_HISTORY} (
                id, indicator_id, country_id, region_id, market_id, place_key, period, period_start, value,
                flag, status, source, comment, rejection_reason, import_batch_id, created_by_id, updated_by_id,
                created_at, door, history_date, history_change_reason, history_type, history_user_id)
            SELECT o.id, o.indicator_id, o.country_id, o.region_id, o.market_id, o.place_key, o.period,
                o.period_start, o.value, o.flag, o.status, o.source, o.comment, o.rejection_reason,
                o.import_batch_id, o.created_by_id, o.updated_by_id, o.created_at, %s, %s, %s,
                CASE WHEN r.existing_id IS NULL THEN '+' ELSE '~' END, %s
            FROM import_rows r JOIN {_OBSERVATION} o ON o.indicator_id = r.indicator_id
                AND o.country_id = r.country_id AND o.place_key = r.place_key AND o.period = r.period
            WHERE r.existing_id IS NULL OR r.changed""",
            [HISTORY_DOOR, now_text, reason, user_id],
        )
        cursor.execute(
            "SELECT count(*) FILTER (WHERE existing_id IS NULL), count(*) FILTER (WHERE changed) FROM import_rows"
        )
        created, updated = cursor.fetchone()
        cursor.execute("DROP TABLE IF EXISTS temp.import_rows")
    return ImportCounts(created=created, updated=updated, unchanged=len(rows) - created - updated)


def import_report_csv(batch: ImportBatch) -> str:
    """The per-row report as CSV text: row, column, value, reason."""
    buffer = io.StringIO()
    pd.DataFrame(batch.errors or [], columns=["row", "column", "value", "reason"]).to_csv(buffer, index=False)
    return buffer.getvalue()
