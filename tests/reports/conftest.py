"""Fixtures of the summit report tests: a small known data set, an analyst, and a private MEDIA_ROOT."""

import pytest

from tests.conftest import require_service
from tests.factories import user_with_role
from tests.reports.scene import scene_create

YEAR = 2023


def weasyprint_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except OSError:  # the Pango system libraries are missing
        return False
    return True


@pytest.fixture
def needs_weasyprint() -> None:
    require_service(weasyprint_available(), "WeasyPrint cannot load Pango (install libpango-1.0-0 libpangoft2-1.0-0)")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def scene(reference):
    return scene_create(year=YEAR)


@pytest.fixture
def analyst(db):
    return user_with_role("analyst", username="report_analyst")
