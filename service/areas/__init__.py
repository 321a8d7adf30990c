"""Areas: where a report is counted. A GPS position is mapped to an area on intake, then dropped.

Two kinds, chosen per deployment: H3 cells over the territory (the default) or the deployment's own
polygons. Both read the same kind of file, a GeoJSON FeatureCollection of coded polygons; the demo
file holds approximate neighbourhoods of Mechelen.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .geojson import AreaShape, read_area_file
from .h3cells import MAX_RESOLUTION, H3Areas
from .model import DEFAULT_MUNICIPALITY, Area, AreaError, AreaResolver, InvalidCoordinates, municipalities, rollup
from .polygons import PolygonAreas

DEMO_AREAS = "demo_areas.geojson"

__all__ = [
    "DEFAULT_MUNICIPALITY",
    "DEMO_AREAS",
    "MAX_RESOLUTION",
    "Area",
    "AreaError",
    "AreaResolver",
    "AreaShape",
    "H3Areas",
    "InvalidCoordinates",
    "PolygonAreas",
    "demo_areas_path",
    "load_areas",
    "municipalities",
    "read_area_file",
    "rollup",
]


def demo_areas_path() -> Path:
    """The shipped demo area file (approximate Mechelen neighbourhoods)."""
    return Path(str(resources.files(__package__).joinpath(DEMO_AREAS)))


def load_areas(mode: str = "h3", geojson_path: str | Path | None = None, resolution: int = 8) -> AreaResolver:
    """The resolver for `mode` ("h3" or "polygons") over `geojson_path`, or the demo file if None."""
    path = demo_areas_path() if geojson_path is None else geojson_path
    if mode == "h3":
        return H3Areas(path, resolution)
    if mode == "polygons":
        return PolygonAreas(path)
    raise AreaError("areas mode must be 'h3' or 'polygons'")
