"""`make run`'s last step: the summit report of the latest complete year of the demo data, in English and
Russian, every format. Quick when a ready version already rests on the same data: nothing is rebuilt."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from monitoring.models import Observation
from reports import services
from reports.management.commands.build_report import report_build_now, write_files
from reports.models import SummitReport
from reports.snapshot import snapshot_fingerprint, snapshot_take

LANGUAGES = ("en", "ru")


def latest_complete_year() -> int | None:
    """The latest year before the current one with approved data (the current year is still running)."""
    this_year = timezone.now().year
    years = sorted(
        {start.year for start in Observation.objects.approved().national().values_list("period_start", flat=True)}
    )
    complete = [year for year in years if year < this_year]
    return (complete or years or [None])[-1]


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
        self.stdout.write("Open http://127.0.0.1:8000/reports/ to read and download them.")
