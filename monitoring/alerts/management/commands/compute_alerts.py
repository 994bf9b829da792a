"""`python manage.py compute_alerts [--country XX] [--since PERIOD]`: the recompute, synchronously."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from monitoring.alerts.services import alerts_compute


class Command(BaseCommand):
    help = _("Score every active alert rule over approved observations and update alerts (same service as Celery).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--country", help=_("ISO2 code of one state (default: all five)"))
        parser.add_argument("--since", help=_("Re-evaluate alerts from this period on (YYYY, YYYY-Qn or YYYY-MM)"))
        parser.add_argument("--no-notify", action="store_true", help=_("Do not email digests"))

    def handle(self, *args, **options) -> None:
        try:
            summary = alerts_compute(
                country=options["country"], since=options["since"], notify=not options["no_notify"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            _(
                "Alerts computed in %(seconds)s s: %(rules)s rules, %(series)s series, %(observations)s observations "
                "read, %(scores)s scores (%(changed)s written, %(deleted)s deleted); alerts raised %(raised)s, "
                "escalated %(escalated)s, resolved %(resolved)s, open now %(open)s; regional alerts %(regional)s."
            )
            % {
                "seconds": summary.seconds,
                "rules": summary.rules,
                "series": summary.series,
                "observations": summary.observations,
                "scores": summary.scores,
                "changed": summary.scores_changed,
                "deleted": summary.scores_deleted,
                "raised": summary.alerts_raised,
                "escalated": summary.alerts_escalated,
                "resolved": summary.alerts_resolved,
                "open": summary.alerts_open,
                "regional": summary.regional_alerts,
            }
        )
