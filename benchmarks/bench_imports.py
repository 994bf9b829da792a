"""Import benchmark: N synthetic observations (default 1,000,000) in our template CSV, imported through the
import service (parse, validate every row, one-transaction upsert with history), beside the database's raw
bulk path as the floor: PostgreSQL COPY (or SQLite executemany) of the same rows, already resolved to ids,
straight into the observation table (committed, then removed). Then the same file again (nothing changes).

    make bench BENCH_ARGS="imports"                 # 1M rows, on DATABASE_URL (SQLite by default)
    make bench BENCH_ARGS="imports --rows 100000"

Peak memory: on Linux the process's peak resident set (VmHWM) is reset just before the import
(/proc/self/clear_refs), and the figure is that peak minus the resident size at the start; elsewhere the
growth of ru_maxrss, a lower bound. The observation tables are vacuumed before and after. The benchmark
removes its rows, history and import records afterwards.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction

from benchmarks import database_settle
from countries.models import Country, Region
from countries.services import reference_countries_load
from monitoring.catalogue import catalogue_load
from monitoring.imports.service import import_observations_file
from monitoring.models import ImportBatch, Indicator, Observation

DEFAULT_ROWS = 1_000_000
CHUNK = 200_000


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _peak_reset() -> bool:
    """Reset this process's peak resident set (Linux: write 5 to /proc/self/clear_refs; VmHWM restarts
    from the current size), so that the import's peak is measured and not the generator's or the floor's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_mb(field: str) -> float:
    """A memory figure of /proc/self/status (VmHWM: peak since the reset, VmRSS: now), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return _peak_rss_mb()


def _places() -> list[tuple[str, int, str, int | None]]:
    """(country iso2, country id, region code or '', region id): national and every region without a
    validity interval (so every period is valid for every place)."""
    places = [(country.iso2, country.pk, "", None) for country in Country.objects.all()]
    for region in Region.objects.filter(valid_from__isnull=True, valid_to__isnull=True).select_related("country"):
        places.append((region.country.iso2, region.country_id, region.code, region.pk))
    return places


def _synthetic(rows: int) -> pd.DataFrame:
    """Unique (indicator, place, month) rows with values inside every indicator's valid range."""
    indicators = list(Indicator.objects.entered().filter(frequency="monthly").order_by("code"))
    places = _places()
    per_period = len(indicators) * len(places)
    periods_needed = -(-rows // per_period)
    if periods_needed > 2400:
        raise SystemExit(f"{rows} rows need more than 200 years of months for {per_period} series.")
    index = np.arange(rows)
    period_index, series_index = np.divmod(index, per_period)
    indicator_index, place_index = np.divmod(series_index, len(places))
    months = 1900 * 12 + 12 + period_index  # from 1901-01
    years, month0 = np.divmod(months, 12)
    rng = np.random.default_rng(2026)
    place_frame = pd.DataFrame(places, columns=["country", "country_id", "region", "region_id"])
    frame = pd.DataFrame(
        {
            "country": place_frame["country"].to_numpy()[place_index],
            "indicator": np.array([item.code for item in indicators])[indicator_index],
            "period": pd.Series(years.astype(str)) + "-" + pd.Series(month0 + 1).astype(str).str.zfill(2),
            "value": np.round(rng.uniform(1, 1000, rows), 3),
            "region": place_frame["region"].to_numpy()[place_index],
        }
    )
    frame["indicator_id"] = np.array([item.pk for item in indicators])[indicator_index]
    frame["country_id"] = place_frame["country_id"].to_numpy()[place_index]
    frame["region_id"] = pd.array(place_frame["region_id"].astype("Int64").to_numpy()[place_index], dtype="Int64")
    return frame


def _write_template(frame: pd.DataFrame, path: Path) -> None:
    columns = ["country", "indicator", "period", "value", "region"]
    for start in range(0, len(frame), CHUNK):
        frame.iloc[start : start + CHUNK][columns].to_csv(path, mode="a", header=start == 0, index=False)


def _floor(frame: pd.DataFrame) -> float:
    """The raw bulk path: the same rows, ids resolved, straight into the observation table."""
    resolved = pd.DataFrame(
        {
            "indicator_id": frame["indicator_id"],
            "country_id": frame["country_id"],
            "region_id": frame["region_id"],
            "place_key": frame["region"],
            "period": frame["period"],
            "period_start": frame["period"] + "-01",
            "value": frame["value"],
            "flag": "",
            "status": "approved",
            "source": "",
            "comment": "",
            "rejection_reason": "",
        }
    )
    columns = ", ".join(resolved.columns)
    # Into the observation table itself (its indexes, WAL and deferred foreign-key checks at commit), as a
    # loader would; the rows are deleted again afterwards (not timed).
    now = pd.Timestamp.now(tz="UTC")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = resolved.to_csv(index=False, header=False).replace("\n", f",{now.isoformat()},{now.isoformat()}\n")
            started = time.perf_counter()
            copy_sql = f"COPY monitoring_observation ({columns}, created_at, updated_at) FROM STDIN WITH (FORMAT csv, "
            copy_sql += "FORCE_NOT_NULL (place_key, flag, source, comment, rejection_reason))"
            with cursor.cursor.copy(copy_sql) as copy:
                copy.write(text)
        else:
            stamp = connection.ops.adapt_datetimefield_value(now.to_pydatetime())
            records = [
                (*record, stamp, stamp)
                for record in resolved.astype(object).where(resolved.notna(), None).itertuples(index=False, name=None)
            ]
            placeholders = ", ".join(["%s"] * (len(resolved.columns) + 2))
            started = time.perf_counter()
            cursor.executemany(
                f"INSERT INTO monitoring_observation ({columns}, created_at, updated_at) VALUES ({placeholders})",
                records,
            )
    elapsed = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM monitoring_observation WHERE import_batch_id IS NULL AND status = 'approved' AND source = ''"
        )
    return elapsed


def _remove(batch_ids: list[int]) -> None:
    with transaction.atomic():
        Observation.history.filter(import_batch_id__in=batch_ids).delete()
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(batch_ids))
            cursor.execute(f"DELETE FROM monitoring_observation WHERE import_batch_id IN ({placeholders})", batch_ids)
        ImportBatch.objects.filter(pk__in=batch_ids).delete()


def run(args) -> None:
    rows = args.rows or DEFAULT_ROWS
    if not Indicator.objects.exists():
        reference_countries_load()
        catalogue_load()
    if Observation.objects.exists():
        print("  note: the observation table is not empty; the import upserts beside existing rows")
    print(f"  database: {connection.vendor}; rows: {rows:,}")
    frame = _synthetic(rows)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench_template.csv"
        started = time.perf_counter()
        _write_template(frame, path)
        print(
            f"  generated {path.stat().st_size / 1e6:.0f} MB of template CSV in {time.perf_counter() - started:.1f} s"
        )

        database_settle()
        floor = _floor(frame)
        floor_name = "COPY" if connection.vendor == "postgresql" else "executemany"
        print(f"  floor ({floor_name}): {floor:.1f} s, {rows / floor:,.0f} rows/s")
        del frame

        database_settle()
        reset = _peak_reset()
        rss_before = _status_mb("VmRSS") if reset else _peak_rss_mb()
        started = time.perf_counter()
        first = import_observations_file(path=path, file_format="template", status="approved")
        elapsed = time.perf_counter() - started
        peak = _status_mb("VmHWM") if reset else _peak_rss_mb()
        assert first.status == ImportBatch.Status.IMPORTED, first.errors[:5]
        how = "VmHWM, reset before the import" if reset else "ru_maxrss growth: a lower bound, peak not resettable here"
        print(
            f"  import service: {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s, created {first.rows_created:,}; "
            f"peak memory +{peak - rss_before:.0f} MB ({how}; peak {peak:.0f} MB)"
        )
        print(f"  ratio to the raw bulk path: {elapsed / floor:.2f}x (target: within 3x; 1M rows < 30 s on PostgreSQL)")

        started = time.perf_counter()
        second = import_observations_file(path=path, file_format="template", status="approved")
        again = time.perf_counter() - started
        print(
            f"  same file again: {again:.1f} s, {rows / again:,.0f} rows/s; created {second.rows_created}, "
            f"updated {second.rows_updated}, unchanged {second.rows_unchanged:,}"
        )
    _remove([first.pk, second.pk])
    database_settle()
