"""The territory's outlines as SVG paths, drawn on the server from the deployment's own area file.

No base-map tiles and no map library: the areas are the map. Each place a release counts in (an
area, a district, a municipality) gets one path, from the same area file and mode the intake
resolves positions with (service.areas):

- polygons mode: an area is its polygon; a district the union of its areas; a municipality the
  union of its districts;
- H3 mode: an area is its cell's hexagon (h3's boundary); a district is the union of the cells
  counted towards it (the file's polygon of that code, as counted); a municipality likewise.

A place is keyed by (municipality, code): two municipalities may both name a district "centrum".

Drawing: longitude and latitude are projected equirectangularly with the longitude scaled by the
cosine of the map's middle latitude (a few kilometres of a Belgian town: true to a fraction of a
percent), into a viewBox WIDTH units wide; outlines are simplified to half a unit and coordinates
rounded to one decimal, so a town of a few hundred areas stays a few dozen kilobytes. Only the
places asked for are drawn and framed: a page never carries the outline of another territory.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely

from service.areas import Area, demo_areas_path, read_area_file, rollup

WIDTH = 800.0
MARGIN = 4.0
# Simplification tolerance, in viewBox units: invisible at any size the page draws.
TOLERANCE = 0.5

Key = tuple[str, str]  # (municipality, code of the area, district or municipality)


@dataclass(frozen=True)
class Outline:
    """Places drawn in one frame: the viewBox's size and each place's path data."""

    width: float
    height: float
    paths: Mapping[Key, str]

    @property
    def view_box(self) -> str:
        return f"0 0 {_number(self.width)} {_number(self.height)}"


class AreaMaps:
    """The deployment's places and their outlines; geometry is built on first use and kept."""

    def __init__(self, mode: str, area_file: str | Path | None, areas: Sequence[Area]):
        self.mode = mode
        self.path = demo_areas_path() if area_file is None else Path(area_file)
        self.areas = tuple(areas)

    @functools.cached_property
    def _file_names(self) -> dict[str, str]:
        # The area file's names by code: in H3 mode a cell's district is the code of a polygon.
        return {shape.area.code: shape.area.name for shape in read_area_file(self.path)}

    def name(self, level: str, key: Key) -> str:
        """What a person calls the place: the area file's name where it has one, else its code."""
        municipality, code = key
        if level == "municipality":
            return municipality
        if level == "area":
            return self._file_names.get(code, code) if self.mode == "polygons" else code
        return self._file_names.get(code, code)

    @functools.cache
    def geometry(self, level: str) -> dict[Key, shapely.Geometry]:
        """Each place of `level` ("area", "district", "municipality") as a lon/lat geometry."""
        if level == "area":
            if self.mode == "polygons":
                shapes = {shape.area.code: shape.geometry for shape in read_area_file(self.path)}
                return {(a.municipality, a.code): shapes[a.code] for a in self.areas if a.code in shapes}
            from service.areas.h3cells import cell_polygon

            return {(a.municipality, a.code): cell_polygon(a.code) for a in self.areas}
        areas = self.geometry("area")
        groups: dict[Key, list[shapely.Geometry]] = {}
        for area in self.areas:
            code, district, municipality = rollup(area)
            key = (municipality, district if level == "district" else municipality)
            if (municipality, code) in areas:
                groups.setdefault(key, []).append(areas[(municipality, code)])
        # A tiny buffer out and back closes the hairline gaps between neighbouring cells.
        return {key: shapely.union_all(parts).buffer(1e-7).buffer(-1e-7) for key, parts in groups.items()}

    @functools.lru_cache(maxsize=64)
    def outline(self, level: str, keys: tuple[Key, ...]) -> Outline:
        """The places `keys` of `level`, framed together and simplified (cached: keys are a territory's)."""
        shapes = self.geometry(level)
        chosen = {key: shapes[key] for key in keys if key in shapes}
        if not chosen:
            return Outline(WIDTH, WIDTH / 2, {})
        min_lon, min_lat, max_lon, max_lat = shapely.union_all(list(chosen.values())).bounds
        squeeze = math.cos(math.radians((min_lat + max_lat) / 2))
        span_x = max((max_lon - min_lon) * squeeze, 1e-9)
        scale = (WIDTH - 2 * MARGIN) / span_x
        height = (max_lat - min_lat) * scale + 2 * MARGIN

        def project(lon: float, lat: float) -> tuple[float, float]:
            return (MARGIN + (lon - min_lon) * squeeze * scale, MARGIN + (max_lat - lat) * scale)

        tolerance = TOLERANCE / scale
        paths = {}
        for key, shape in chosen.items():
            simple = shape.simplify(tolerance, preserve_topology=True)
            paths[key] = _path(_polygons(simple if not simple.is_empty else shape), project)
        return Outline(WIDTH, round(height, 1), paths)


def _polygons(shape: shapely.Geometry) -> Iterable[shapely.Polygon]:
    if isinstance(shape, shapely.Polygon):
        return [shape]
    return [part for part in getattr(shape, "geoms", []) if isinstance(part, shapely.Polygon)]


def _path(polygons: Iterable[shapely.Polygon], project) -> str:  # type: ignore[no-untyped-def]
    """SVG path data: each ring a move and implicit line-tos, closed; holes by the even-odd rule."""
    parts = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            points: list[tuple[str, str]] = []
            for lon, lat in ring.coords[:-1]:
                x, y = project(lon, lat)
                point = (_number(x), _number(y))
                if not points or points[-1] != point:
                    points.append(point)
            if len(points) >= 3:
                parts.append("M" + " ".join(f"{x} {y}" for x, y in points) + "Z")
    return "".join(parts)


def _number(value: float) -> str:
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text
