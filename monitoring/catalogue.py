"""Loading the indicator catalogue from `data/reference/indicators.yaml` (idempotent, keyed by code)."""

from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction

from countries.services import row_upsert
from monitoring.models import Indicator

CATALOGUE_FILE = Path(settings.BASE_DIR) / "data" / "reference" / "indicators.yaml"
_FIELDS = [field.name for field in Indicator._meta.get_fields() if field.concrete and field.name not in ("id", "code")]


@transaction.atomic
def catalogue_load(*, path: Path = CATALOGUE_FILE) -> int:
    """Create or update every indicator of the catalogue; returns how many rows were written."""
    with open(path, encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    written = 0
    for entry in entries:
        defaults = {field: entry.get(field, Indicator._meta.get_field(field).get_default()) for field in _FIELDS}
        for text_field in ("description_en", "description_ru", "source", "sdg_code", "commodity", "formula"):
            defaults[text_field] = defaults[text_field] or ""
        Indicator(code=entry["code"], **defaults).clean()
        written += row_upsert(Indicator, {"code": entry["code"]}, defaults)
    return written
