from django.core.management.base import BaseCommand

from countries.services import reference_countries_load
from monitoring.catalogue import catalogue_load


class Command(BaseCommand):
    help = "Load the five states, their admin-1 regions and the indicator catalogue (safe to run again)."

    def handle(self, *args, **options) -> None:
        changed = reference_countries_load()
        indicators = catalogue_load()
        self.stdout.write(
            f"Reference data: {changed['countries']} countries, {changed['regions']} regions, "
            f"{indicators} indicators written (0 means already up to date)."
        )
