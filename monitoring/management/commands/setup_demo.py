"""`make run`'s data step: reference data, the real public data in data/, demo accounts, alerts and the
latest complete year's summit report. Each step is idempotent, so a second `make run` is quick."""

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

# The order matters: alerts read approved data; the report reads alerts.
STEPS = [
    ("load_reference", "the five states, their regions and the indicator catalogue"),
    ("load_demo_data", "the real public data shipped in data/"),
    ("create_demo_accounts", "demo accounts for each state's clerk and approver, an analyst and a viewer"),
    ("compute_alerts", "national and regional alerts"),
    ("build_demo_report", "the latest complete year's summit report"),
]


class Command(BaseCommand):
    help = "Prepare the demo: reference data, real data, demo accounts, alerts and the summit report."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("setup_demo runs only with DEMO_MODE=1 (it creates demo accounts).")
        available = get_commands()
        for command, what in STEPS:
            if command not in available:
                self.stdout.write(self.style.WARNING(f"- skipped {what}: `{command}` is not part of this build"))
                continue
            self.stdout.write(f"- {what} ({command})")
            call_command(command, stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
