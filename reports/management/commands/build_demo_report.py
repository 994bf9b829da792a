"""`make run`'s last step: the summit report of the latest complete year of the demo data, in English and
Russian, every format. Quick when a ready version already rests on the same data: nothing is rebuilt."""

import os
from collections import Counter

from django.core.management.base import BaseCommand
from django.utils import timezone

from monitoring.models import Observation
from reports import services
from reports.management.commands.build_report import report_build_now, write_files
from reports.models import SummitReport
from reports.snapshot import snapshot_fingerprint, snapshot_take

LANGUAGES = ("en", "ru")
COMPLETE_SHARE = 0.5


def latest_complete_year() -> int | None:
    """The latest year before the current one whose approved national values number at least half of the
    best-covered year's: a year with fewer is still being reported (publishers release with a lag)."""
    this_year = timezone.now().year
    counts = Counter(
        start.year for start in Observation.objects.approved().national().values_list("period_start", flat=True)
    )
    if not counts:
        return None
    enough = COMPLETE_SHARE * max(counts.values())
    complete = [year for year, count in counts.items() if year < this_year and count >= enough]
    return max(complete) if complete else max(counts)


class Command(BaseCommand):
    help = "Build the latest complete year's summit report for the demo data (en and ru), unless it is up to date."

    def handle(self, *args, **options) -> None:
        year = latest_complete_year()
        if year is None:
            self.stdout.write("No approved data: no summit report to build.")
            return
        for language in LANGUAGES:
            current = SummitReport.objects.for_edition(year=year, language=language).current().first()
            fingerprint = snapshot_fingerprint(snapshot_take(year=year, language=language))
            if current is not None and current.snapshot_hash == fingerprint:
                self.stdout.write(f"Summit report {year} ({language}) is up to date (version {current.version}).")
                write_files(self, current, None)
                continue
            report = services.report_create(year=year, language=language, check_permission=False)
            report = report_build_now(report)
            if report.status != SummitReport.Status.READY:
                self.stderr.write(f"Summit report {year} ({language}) failed: {report.failure_reason}")
                continue
            write_files(self, report, None)
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Open http://127.0.0.1:{port}/reports/ to read and download them.")
