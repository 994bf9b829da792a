"""Summit report benchmark: the time to build the full PDF for the five states (target: under 30 s on a
2-core machine), then every format together.

    make bench BENCH_ARGS="reports"

Data: the synthetic data set of the report tests (tests/reports/scene.py) widened to five years of nine
monthly retail prices per state, with IFPA scores and alerts, for a far-off year so it cannot collide with
real data; it is written inside a transaction that is rolled back at the end, and the files go to a
temporary MEDIA_ROOT. When the database also holds approved real data (after `make run`), the latest
complete year's PDF is timed as well, and removed afterwards.
"""

import tempfile
import time

from django.conf import settings
from django.db import transaction

from countries.models import Country
from countries.services import reference_countries_load
from monitoring.catalogue import catalogue_load
from monitoring.models import Indicator, Observation
from reports import services
from reports.management.commands.build_demo_report import latest_complete_year
from reports.management.commands.build_report import report_build_now
from reports.models import SummitReport
from tests.reports.scene import scene_create

SYNTHETIC_YEAR = 2098
PRICES = (
    "PRICE_WHEAT_FLOUR", "PRICE_BREAD", "PRICE_RICE", "PRICE_POTATOES", "PRICE_SUNFLOWER_OIL", "PRICE_SUGAR",
    "PRICE_BEEF", "PRICE_MILK", "PRICE_EGGS",
)  # fmt: skip


class _Rollback(Exception):
    pass


def _timed_build(year: int, language: str, formats: list[str]) -> tuple[float, SummitReport]:
    report = services.report_create(year=year, language=language, formats=formats, check_permission=False)
    started = time.perf_counter()
    report = report_build_now(report)
    elapsed = time.perf_counter() - started
    if report.status != SummitReport.Status.READY:
        raise SystemExit(f"build failed: {report.failure_reason}")
    return elapsed, report


def _pages(report: SummitReport) -> int:
    import pypdf

    with report.pdf_file.open("rb") as handle:
        return len(pypdf.PdfReader(handle).pages)


def run(args) -> None:
    if not Country.objects.exists() or not Indicator.objects.exists():
        reference_countries_load()
        catalogue_load()
    with tempfile.TemporaryDirectory() as media:
        settings.MEDIA_ROOT = media
        try:
            with transaction.atomic():
                scene = scene_create(year=SYNTHETIC_YEAR, history_years=4, price_codes=PRICES)
                print(f"synthetic data: {len(scene.observations):,} observations, 5 states, 9 monthly prices")
                seconds, report = _timed_build(SYNTHETIC_YEAR, "en", ["pdf"])
                print(f"full PDF, five states (en): {seconds:.1f} s, {_pages(report)} pages, "
                      f"{report.pdf_file.size / 1024:.0f} KiB  (target < 30 s)")  # fmt: skip
                seconds, report = _timed_build(SYNTHETIC_YEAR, "ru", ["pdf"])
                print(f"full PDF, five states (ru): {seconds:.1f} s, {_pages(report)} pages")
                seconds, report = _timed_build(SYNTHETIC_YEAR, "en", ["pdf", "docx", "xlsx", "html"])
                print(f"all four formats (en): {seconds:.1f} s")
                raise _Rollback
        except _Rollback:
            pass
        year = latest_complete_year()
        if year is not None and Observation.objects.approved().exists():
            try:
                with transaction.atomic():
                    seconds, report = _timed_build(year, "en", ["pdf"])
                    print(f"real data, {year}, full PDF (en): {seconds:.1f} s, {_pages(report)} pages, "
                          f"{len(report.snapshot['observations']):,} observations in the snapshot")  # fmt: skip
                    raise _Rollback
            except _Rollback:
                pass
