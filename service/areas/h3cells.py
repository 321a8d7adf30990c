"""Areas as H3 cells covering the deployment's territory.

The territory is the union of the area file's polygons. The areas are every cell of the configured
resolution that meets the territory, so a position inside the territory always has a cell, even in
a border cell whose centre lies outside (h3's own polygon filling keeps only cells whose centre is
inside, which would drop reports near the border). A position outside the territory resolves to
None even when it falls in such a border cell: cells fully inside the territory are a set lookup,
border cells also get an exact point-in-territory test.

Each cell's district is the code of the polygon holding the cell's centre (or, for a border cell
whose centre is outside, the polygon covering most of it), so counts per cell roll up to the
deployment's neighbourhoods; its municipality is that same polygon's, so a cell never counts towards
a district in one municipality and a municipality total of another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import h3
import shapely

from .geojson import AreaShape, read_area_file
from .model import Area, AreaError, area_document, check_coordinates

# A cell is where a report was made; at resolution 10 a cell is about 0.015 km2, a few houses, and
# would be a location in all but name. Resolution 9 (about 0.1 km2) is the finest allowed.
MAX_RESOLUTION = 9

# Margin, in degrees (about 0.1 m), for the difference between a cell's true (geodesic) edges and
# the straight lon/lat segments shapely draws; a cell counts as interior only with this to spare.
_EDGE_TOLERANCE = 1e-6
_METRES_PER_DEGREE_LAT = 111_320.0


class H3Areas:
    """Resolves a position to its H3 cell at `resolution`, for cells meeting the territory only."""

    kind = "h3"

    def __init__(self, boundary_geojson_path: str | Path, resolution: int = 8):
        self.resolution = check_resolution(resolution)
        shapes = read_area_file(boundary_geojson_path)
        territory = shapely.union_all([shape.geometry for shape in shapes])
        interior, border = _cover(territory, self.resolution)
        districts = _districts(interior | border, shapes)
        shapely.prepare(territory)
        self._territory = territory
        self._interior = frozenset(interior)
        self._border = frozenset(border)
        self._areas = tuple(
            Area(code=cell, name=cell, district=districts[cell].code, municipality=districts[cell].municipality)
            for cell in sorted(interior | border)
        )
        self.document, self.etag = area_document(self._areas)

    def resolve(self, lat: float, lon: float) -> str | None:
        """The H3 cell holding (lat, lon) if that position is inside the territory, else None."""
        check_coordinates(lat, lon)
        cell = h3.latlng_to_cell(lat, lon, self.resolution)
        if cell in self._interior:
            return cell
        if cell in self._border and shapely.intersects_xy(self._territory, lon, lat):
            return cell
        return None

    def areas(self) -> Sequence[Area]:
        """Every cell meeting the territory, ordered by code."""
        return self._areas

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (code in self._interior or code in self._border)

    def __repr__(self) -> str:
        return f"<H3Areas resolution {self.resolution}, {len(self._areas)} cells>"


def check_resolution(resolution: object) -> int:
    """The resolution if it is an integer from 0 to MAX_RESOLUTION, else AreaError."""
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 0 <= resolution <= MAX_RESOLUTION:
        raise AreaError(f"H3 resolution must be an integer from 0 to {MAX_RESOLUTION}")
    return resolution


def cell_polygon(cell: str) -> shapely.Polygon:
    """The cell's boundary as a lon/lat polygon (h3 gives lat/lng pairs)."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def _cover(territory: shapely.Geometry, resolution: int) -> tuple[set[str], set[str]]:
    """The cells meeting `territory`, split into those fully inside it and those on its border."""
    # A cell meets the territory only if its centre lies within one circumradius (its longest
    # edge) of it, so filling the bounding box grown by twice the average edge finds every such
    # cell; the exact test below throws out the extra ones.
    margin = 2 * h3.average_hexagon_edge_length(resolution, unit="m")
    min_lon, min_lat, max_lon, max_lat = territory.bounds
    widest = math.cos(math.radians(min(89.0, max(abs(min_lat), abs(max_lat)))))
    grow_lat = margin / _METRES_PER_DEGREE_LAT
    grow_lon = margin / (_METRES_PER_DEGREE_LAT * widest)
    search = shapely.box(
        max(-180.0, min_lon - grow_lon),
        max(-90.0, min_lat - grow_lat),
        min(180.0, max_lon + grow_lon),
        min(90.0, max_lat + grow_lat),
    )
    shapely.prepare(territory)
    interior: set[str] = set()
    border: set[str] = set()
    for cell in h3.geo_to_cells(search, resolution):
        # Grown by the tolerance both ways: "interior" must hold even for the true cell edges,
        # and a cell that might touch the territory is kept (resolve() tests its points exactly).
        grown = cell_polygon(cell).buffer(_EDGE_TOLERANCE)
        if territory.contains(grown):
            interior.add(cell)
        elif territory.intersects(grown):
            border.add(cell)
    if not interior and not border:
        raise AreaError("the territory covers no H3 cell")
    return interior, border


def _districts(cells: set[str], shapes: Sequence[AreaShape]) -> dict[str, Area]:
    """For each cell, the area of the polygon holding its centre, else of the one covering most of it."""
    tree = shapely.STRtree([shape.geometry for shape in shapes])
    districts: dict[str, Area] = {}
    for cell in cells:
        lat, lng = h3.cell_to_latlng(cell)
        holding = tree.query(shapely.points(lng, lat), predicate="intersects")
        if len(holding):
            districts[cell] = shapes[holding.min()].area
            continue
        polygon = cell_polygon(cell)
        overlaps = [(shape.geometry.intersection(polygon).area, -index) for index, shape in enumerate(shapes)]
        _, best = max(overlaps)
        districts[cell] = shapes[-best].area
    return districts
