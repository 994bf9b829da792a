import pytest
from django.core.cache import cache

from tests.dashboards.scene import Scene, build_scene


@pytest.fixture(autouse=True)
def empty_cache():
    """Pages cache their aggregates by data version; a rolled-back test must not leave one behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scene(reference) -> Scene:
    return build_scene()
