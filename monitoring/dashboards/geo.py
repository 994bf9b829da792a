"""The overview map: the five states' outlines (data/geo/, Natural Earth 1:110m) as SVG paths.

Projected once per process, server-side, so the page needs no map library, no tiles and no JavaScript:
an equirectangular projection with longitude scaled by the cosine of the region's mean latitude, which
keeps Central Asia's shapes recognisable at this scale.
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

GEOJSON_PATH = Path(settings.BASE_DIR) / "data" / "geo" / "central_asia_countries_110m.geojson"
MAP_WIDTH = 800  # SVG user units; the SVG scales to its container (viewBox)


@dataclass(frozen=True)
class MapShape:
    iso3: str
    path: str  # SVG path data
    label_x: float
    label_y: float


@dataclass(frozen=True)
class MapGeometry:
    width: int
    height: int
    shapes: dict[str, MapShape]  # by ISO 3166-1 alpha-3


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    raise ValueError(f"Unsupported geometry type {geometry['type']}")


def _area_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Signed area and centroid of a closed ring (shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2
    if area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return area, cx / (6 * area), cy / (6 * area)


# Label nudges (in SVG units) where the area centroid falls on a neighbour or a thin arm of the shape:
# Kyrgyzstan's and Tajikistan's centroids sit well inside them; Uzbekistan's lies near the Aral Sea.
LABEL_OFFSETS: dict[str, tuple[float, float]] = {"UZB": (10.0, 10.0), "TKM": (0.0, 10.0)}


@lru_cache(maxsize=1)
def map_geometry() -> MapGeometry:
    collection = json.loads(GEOJSON_PATH.read_text(encoding="utf-8"))
    features = collection["features"]
    lons = [point[0] for feature in features for ring in _rings(feature["geometry"]) for point in ring]
    lats = [point[1] for feature in features for ring in _rings(feature["geometry"]) for point in ring]
    scale_x = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = (max(lons) - min(lons)) * scale_x
    span_y = max(lats) - min(lats)
    factor = MAP_WIDTH / span_x
    height = round(span_y * factor)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - min(lons)) * scale_x * factor, (max(lats) - lat) * factor

    shapes = {}
    for feature in features:
        iso3 = feature.get("id") or feature["properties"]["iso3"]
        parts = []
        largest = (0.0, 0.0, 0.0)
        for ring in _rings(feature["geometry"]):
            projected = [project(lon, lat) for lon, lat in ring]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in projected) + "Z")
            area, cx, cy = _area_centroid(projected)
            if abs(area) > abs(largest[0]):
                largest = (area, cx, cy)
        dx, dy = LABEL_OFFSETS.get(iso3, (0.0, 0.0))
        shapes[iso3] = MapShape(iso3=iso3, path="".join(parts), label_x=largest[1] + dx, label_y=largest[2] + dy)
    return MapGeometry(width=MAP_WIDTH, height=height, shapes=shapes)
