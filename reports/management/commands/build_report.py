"""`python manage.py build_report --year 2023 --language en --format pdf,docx,xlsx,html --output DIR`"""

import shutil
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reports import services
from reports.models import SummitReport


class Command(BaseCommand):
    help = "Build a new version of the summit report from today's approved data and copy its files to a folder."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--language", default="en")
        parser.add_argument("--format", default="pdf,docx,xlsx,html", help="comma-separated: pdf,docx,xlsx,html")
        parser.add_argument("--output", default=None, help="folder to copy the files to (default: only MEDIA_ROOT)")
        parser.add_argument(
            "--snapshot-from", type=int, default=None, help="id of a version whose frozen data to reuse"
        )

    def handle(self, *args, **options) -> None:
        formats = [part.strip().lower() for part in options["format"].split(",") if part.strip()]
        snapshot_from = None
        if options["snapshot_from"]:
            snapshot_from = SummitReport.objects.filter(pk=options["snapshot_from"]).first()
            if snapshot_from is None:
                raise CommandError(f"No report version with id {options['snapshot_from']}.")
        try:
            report = services.report_create(
                year=options["year"],
                language=options["language"],
                formats=formats,
                snapshot_from=snapshot_from,
                check_permission=False,  # whoever runs manage.py already administers the server
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        report = report_build_now(report)
        if report.status != SummitReport.Status.READY:
            raise CommandError(f"Version {report.version} failed: {report.failure_reason}")
        write_files(self, report, options["output"])


def report_build_now(report: SummitReport) -> SummitReport:
    """Queue and build in this process (the command waits for its result whatever the Celery setup)."""
    SummitReport.objects.filter(pk=report.pk, status=SummitReport.Status.DRAFT).update(
        status=SummitReport.Status.QUEUED
    )
    return services.report_build(report_id=report.pk)


def write_files(command: BaseCommand, report: SummitReport, output: str | None) -> list[Path]:
    command.stdout.write(
        f"Summit report {report.year} ({report.language}) version {report.version} is ready (id {report.pk})."
    )
    written = []
    target = Path(output) if output else None
    if target:
        target.mkdir(parents=True, exist_ok=True)
    for code, stored in report.available_files:
        path = Path(stored.path)
        if target:
            path = target / Path(stored.name).name
            with stored.open("rb") as source, open(path, "wb") as destination:
                shutil.copyfileobj(source, destination)
        written.append(path)
        command.stdout.write(f"  {code.upper():5} {path}")
    return written
