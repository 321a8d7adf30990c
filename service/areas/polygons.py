"""Areas as the deployment's own polygons: neighbourhoods, statistical sectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import shapely

from .geojson import read_area_file
from .model import Area, area_document, check_coordinates


class PolygonAreas:
    """Resolves a position to the polygon holding it, via an STRtree of the file's features.

    A point on the border of two polygons, or in an overlap, goes to the feature that comes first
    in the file, so the answer never depends on the tree's internal order.
    """

    kind = "polygons"

    def __init__(self, geojson_path: str | Path):
        shapes = read_area_file(geojson_path)
        self._codes = tuple(shape.area.code for shape in shapes)
        self._tree = shapely.STRtree([shape.geometry for shape in shapes])
        self._areas = tuple(sorted((shape.area for shape in shapes), key=lambda area: area.code))
        self._known = frozenset(self._codes)
        self.document, self.etag = area_document(self._areas)

    def resolve(self, lat: float, lon: float) -> str | None:
        """The code of the first polygon (in file order) holding (lat, lon), else None."""
        check_coordinates(lat, lon)
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self._codes[hits.min()] if len(hits) else None

    def areas(self) -> Sequence[Area]:
        """Every area, ordered by code."""
        return self._areas

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self._known

    def __repr__(self) -> str:
        return f"<PolygonAreas {len(self._areas)} areas>"
