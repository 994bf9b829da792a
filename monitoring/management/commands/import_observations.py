"""`python manage.py import_observations FILE --format {template,sdg,wfp,faostat} [--dry-run] [--user NAME]`.

Exits 0 when the file was imported (or would be, with --dry-run); non-zero with the per-row report when it
was refused. Without --user the import acts as the system."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from monitoring.imports.service import PARSERS, import_observations_file
from monitoring.models import ImportBatch, Observation


def batch_summary(batch: ImportBatch) -> str:
    return (
        f"{batch.file_name}: {batch.get_status_display()} – read {batch.rows_read}, created {batch.rows_created}, "
        f"updated {batch.rows_updated}, unchanged {batch.rows_unchanged}, rejected {batch.rows_rejected}"
    )


class Command(BaseCommand):
    help = "Import observations from a file (our template, UN/Open SDG/SDMX, WFP prices or FAOSTAT bulk)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="path of the CSV, XLSX or XML file")
        parser.add_argument("--format", required=True, choices=list(PARSERS), dest="file_format")
        parser.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        parser.add_argument("--user", help="import as this user (their country scope applies); default: the system")
        parser.add_argument(
            "--status",
            choices=Observation.Status.values,
            help="status of new or changed values (default: draft)",
        )

    def handle(self, *args, file, file_format, dry_run, user, status, **options) -> None:
        acting_user = None
        if user:
            acting_user = get_user_model().objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            batch = import_observations_file(
                path=file, file_format=file_format, user=acting_user, dry_run=dry_run, status=status
            )
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}")
        self.stdout.write(batch_summary(batch))
        for reason, count in sorted(batch.skipped.items()):
            self.stdout.write(f"  skipped {count} row(s): {reason}")
        if batch.status == ImportBatch.Status.REFUSED:
            self.stderr.write("row\tcolumn\tvalue\treason")
            for error in batch.errors:
                self.stderr.write(f"{error['row']}\t{error['column']}\t{error['value']}\t{error['reason']}")
            if batch.rows_rejected > len(batch.errors):
                self.stderr.write(
                    f"... {batch.rows_rejected} rows rejected in all; the first {len(batch.errors)} errors are shown."
                )
            raise CommandError(f"Refused: nothing was written ({batch.rows_rejected} row(s) rejected).")
