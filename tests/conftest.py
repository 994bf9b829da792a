"""Shared fixtures. Reference data (the five states, regions, the catalogue) is loaded once per test
database; tests that flush the database (live server, Celery worker) get it back from `reference`."""

import os
import shutil
from types import SimpleNamespace

import pytest
from django.utils import translation

from countries.models import Country, Region
from countries.services import reference_countries_load
from monitoring.catalogue import catalogue_load
from monitoring.models import Indicator

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(available: bool, reason: str) -> None:
    """Skip (saying why) when a real service is missing; fail instead when CI demands it."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    return candidate if os.path.exists(candidate) else shutil.which("chromium")


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    """Every test starts in English and leaves no language active behind it (a test that activates
    Russian must not turn the next test's output Russian)."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        reference_countries_load()
        catalogue_load()


@pytest.fixture
def reference(db) -> SimpleNamespace:
    """The reference data, (re)loaded if a flushing test removed it; idempotent and quick when present."""
    if not Country.objects.exists() or not Indicator.objects.exists():
        reference_countries_load()
        catalogue_load()
    countries = {country.iso2: country for country in Country.objects.all()}
    return SimpleNamespace(
        countries=countries,
        kz=countries["KZ"],
        kg=countries["KG"],
        tj=countries["TJ"],
        tm=countries["TM"],
        uz=countries["UZ"],
        indicators={indicator.code: indicator for indicator in Indicator.objects.all()},
        regions={region.code: region for region in Region.objects.all()},
    )
