"""Writes of reference data: the five states and their admin-1 units (idempotent)."""

import csv
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from countries.models import Country, Region

REFERENCE_DIR = Path(settings.BASE_DIR) / "data" / "reference"


def _date_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@transaction.atomic
def reference_countries_load(*, directory: Path = REFERENCE_DIR) -> dict[str, int]:
    """Create or update the five states and their regions. Running it again changes nothing."""
    changed = {"countries": 0, "regions": 0}
    with open(directory / "countries.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            defaults = {
                "iso3": row["iso3"],
                "m49": int(row["m49"]),
                "currency": row["currency"],
                "name_en": row["name_en"],
                "name_ru": row["name_ru"],
                "name_local": row["name_local"],
                "faostat_code": int(row["faostat_code"]),
                "gaul_code": int(row["gaul_code"]),
            }
            changed["countries"] += row_upsert(Country, {"iso2": row["iso2"]}, defaults)

    countries = {country.iso2: country for country in Country.objects.all()}
    successions: list[tuple[str, str]] = []
    with open(directory / "regions.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            defaults = {
                "country": countries[row["country"]],
                "pcode": row["pcode"],
                "name_en": row["name_en"],
                "name_ru": row["name_ru"],
                "type": row["type"],
                "valid_from": _date_or_none(row["valid_from"]),
                "valid_to": _date_or_none(row["valid_to"]),
            }
            changed["regions"] += row_upsert(Region, {"code": row["code"]}, defaults)
            if row["successor_of"]:
                successions.append((row["code"], row["successor_of"]))
    regions = {region.code: region for region in Region.objects.all()}
    for code, predecessor in successions:
        regions[code].successor_of.add(regions[predecessor])
    return changed


def row_upsert(model, key: dict, defaults: dict) -> int:
    """Create or update one row; returns 1 when something was written, 0 when it was already so."""
    instance = model.objects.filter(**key).first()
    if instance is None:
        model.objects.create(**key, **defaults)
        return 1
    changed_fields = [field for field, value in defaults.items() if getattr(instance, field) != value]
    if changed_fields:
        for field in changed_fields:
            setattr(instance, field, defaults[field])
        instance.full_clean()
        instance.save(update_fields=changed_fields)
        return 1
    return 0
