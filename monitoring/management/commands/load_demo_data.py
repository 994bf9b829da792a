"""Load the real public data shipped in data/ (see data/SOURCES.md), as approved values.

Idempotent and quick on a second run: a file whose SHA-256 was already imported is skipped. The order
matters where two publishers measure the same thing: the later file wins for a place and period, so the
national platforms' regional series come before the UN database's national values."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring.imports.service import file_sha256, import_observations_file
from monitoring.management.commands.import_observations import batch_summary
from monitoring.models import Door, ImportBatch, Observation

UN = "un_sdg_goal2/ddf--datapoints--"
# (format, file under data/). What each file gives the catalogue is in data/SOURCES.md ("What the product loads").
DEMO_FILES = [
    ("faostat", "monthly/faostat_cp_consumer_price_indices_monthly_central_asia.csv"),
    ("faostat", "faostat/faostat_cp_food_price_inflation_central_asia.csv"),
    ("faostat", "faostat/faostat_qcl_wheat_production_central_asia.csv"),
    ("faostat", "faostat/faostat_fbs_grand_total_food_supply_kcal_capita_day_central_asia.csv"),
    ("sdg", "kazstat_sdg_goal2/indicator_2-2-1.csv"),
    ("sdg", "kyrgyzstan_nsc_sdg_goal2/sdmx_xml/2.c.1.1.xml"),
    ("sdg", f"{UN}sn_itk_defc--by--age--geo_area--nature--observation_status--sex--units--year.csv"),
    ("sdg", f"{UN}sn_itk_defcn--by--geo_area--nature--observation_status--units--year.csv"),
    ("sdg", f"{UN}ag_prd_fiesms--by--age--freq--geo_area--location--nature--observation_status--sex--units--year.csv"),
    ("sdg", f"{UN}ag_prd_fiess--by--age--freq--geo_area--location--nature--observation_status--sex--units--year.csv"),
    ("sdg", f"{UN}sh_sta_stnt--by--age--geo_area--location--nature--observation_status--units--year.csv"),
    ("sdg", f"{UN}sh_sta_wast--by--age--freq--geo_area--location--nature--observation_status--sex--units--year.csv"),
    ("sdg", f"{UN}sn_sta_ovwgt--by--age--geo_area--location--nature--observation_status--sex--units--year.csv"),
    ("sdg", f"{UN}sh_sta_anem--by--age--geo_area--nature--sex--units--year.csv"),
    ("sdg", f"{UN}ag_fpa_cfpi--by--geo_area--nature--observation_status--units--year.csv"),
    ("sdg", f"{UN}ag_fpa_comm--by--geo_area--nature--observation_status--type_of_product--units--year.csv"),
    ("sdg", "worldbank_wdi/wdi_SP.POP.TOTL_population_central_asia.csv"),
    ("sdg", "worldbank_wdi/wdi_FP.CPI.TOTL.ZG_inflation_consumer_central_asia.csv"),
    ("wfp", "monthly/wfp_vam_january_only_kgz_tjk_2004_2021.csv"),
]


class Command(BaseCommand):
    help = "Load the real public data in data/ (approved). Files already imported are skipped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data-dir", default=str(Path(settings.BASE_DIR) / "data"))

    def handle(self, *args, data_dir: str, **options) -> None:
        directory = Path(data_dir)
        imported_hashes = set(
            ImportBatch.objects.filter(status=ImportBatch.Status.IMPORTED).values_list("file_hash", flat=True)
        )
        refused = []
        for file_format, relative in DEMO_FILES:
            path = directory / relative
            if not path.exists():
                raise CommandError(f"Missing demo data file {path} (see data/SOURCES.md).")
            if file_sha256(path) in imported_hashes:
                self.stdout.write(f"  {path.name}: already imported, skipped")
                continue
            batch = import_observations_file(
                path=path, file_format=file_format, status=Observation.Status.APPROVED, door=Door.COMMAND
            )
            self.stdout.write(f"  {batch_summary(batch)}")
            if batch.status == ImportBatch.Status.REFUSED:
                refused.append(path.name)
                for error in batch.errors[:10]:
                    self.stderr.write(f"    row {error['row']} {error['column']} {error['value']!r}: {error['reason']}")
        if refused:
            raise CommandError(f"Demo data refused: {', '.join(refused)}")
