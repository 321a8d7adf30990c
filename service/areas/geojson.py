"""Reading a deployment's area file: a GeoJSON FeatureCollection of (Multi)Polygons.

Each feature is one area::

    {"type": "Feature",
     "properties": {"code": "mechelen-binnenstad", "name": "Binnenstad", "district": "centrum"},
     "geometry": {"type": "Polygon", "coordinates": [[[4.469, 51.034], ...]]}}

`code` (letters, digits and . _ : -, at most 64) and `name` are required, `district` and
`municipality` are optional. The municipality is a code like `code`, because it becomes an
identifier in territories and CSV output; a feature without one takes the collection's own
top-level `"municipality"` member, and a file with neither is all DEFAULT_MUNICIPALITY.
Other properties (a GIS export has many) and members such as `id` or `bbox` are ignored (msgspec
skips unknown fields unless told to forbid them).
Coordinates are WGS 84 longitude, latitude as RFC 7946 prescribes; a file still in Belgian Lambert
72 or 2008 metres fails the range check rather than landing somewhere in the ocean. Rings must be
closed and polygons valid (no self-intersection), because point-in-polygon answers on an invalid
polygon are undefined. Codes are unique. Overlaps between features are not refused here (real
statistical sectors carry slivers); a resolver resolves them deterministically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import shapely

from .model import DEFAULT_MUNICIPALITY, Area, AreaError

Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]
Ring = Annotated[list[Position], msgspec.Meta(min_length=4)]
PolygonRings = Annotated[list[Ring], msgspec.Meta(min_length=1)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", max_length=64)]
Text = Annotated[str, msgspec.Meta(pattern=r"^\S(?:.*\S)?$", max_length=200)]


class _Polygon(msgspec.Struct, tag_field="type", tag="Polygon"):
    coordinates: PolygonRings


class _MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon"):
    coordinates: Annotated[list[PolygonRings], msgspec.Meta(min_length=1)]


class _Properties(msgspec.Struct):
    code: Code
    name: Text
    district: Text | None = None
    municipality: Code | None = None


class _Feature(msgspec.Struct):
    type: Literal["Feature"]
    geometry: _Polygon | _MultiPolygon
    properties: _Properties


class _FeatureCollection(msgspec.Struct):
    type: Literal["FeatureCollection"]
    features: Annotated[list[_Feature], msgspec.Meta(min_length=1)]
    municipality: Code | None = None


@dataclass(frozen=True)
class AreaShape:
    """One feature of the file: the area and its valid (Multi)Polygon in lon/lat."""

    area: Area
    geometry: shapely.Polygon | shapely.MultiPolygon


def read_area_file(path: str | Path) -> tuple[AreaShape, ...]:
    """Read and validate the area file at `path`, in file order; AreaError names any problem."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise AreaError(f"cannot read area file {source}: {exc.strerror or exc}") from exc
    return parse_area_file(raw, name=f"area file {source}")


def parse_area_file(raw: bytes, *, name: str = "area file") -> tuple[AreaShape, ...]:
    """Validate the bytes of a GeoJSON area file and build its shapes."""
    try:
        collection = msgspec.json.decode(raw, type=_FeatureCollection)
    except msgspec.ValidationError as exc:
        raise AreaError(f"invalid {name}: not a GeoJSON FeatureCollection of areas: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise AreaError(f"invalid {name}: {exc}") from exc

    file_municipality = DEFAULT_MUNICIPALITY if collection.municipality is None else collection.municipality
    shapes: list[AreaShape] = []
    seen: set[str] = set()
    for index, feature in enumerate(collection.features):
        code = feature.properties.code
        where = f"feature {code!r} - at `$.features[{index}]`"
        if code in seen:
            raise AreaError(f"invalid {name}: duplicate area code {code!r} - at `$.features[{index}]`")
        seen.add(code)
        geometry = _geometry(feature.geometry, f"invalid {name}: {where}")
        properties = feature.properties
        municipality = file_municipality if properties.municipality is None else properties.municipality
        area = Area(code=code, name=properties.name, district=properties.district, municipality=municipality)
        shapes.append(AreaShape(area, geometry))
    return tuple(shapes)


def _geometry(geometry: _Polygon | _MultiPolygon, problem: str) -> shapely.Polygon | shapely.MultiPolygon:
    polygons = [geometry.coordinates] if isinstance(geometry, _Polygon) else geometry.coordinates
    built = []
    for rings in polygons:
        xy_rings = [_ring(ring, problem) for ring in rings]
        built.append(shapely.Polygon(xy_rings[0], xy_rings[1:]))
    shape = built[0] if isinstance(geometry, _Polygon) else shapely.MultiPolygon(built)
    if not shape.is_valid:
        raise AreaError(f"{problem}: invalid polygon ({shapely.is_valid_reason(shape)})")
    if shape.area <= 0:
        raise AreaError(f"{problem}: polygon has no area")
    return shape


def _ring(ring: list[list[float]], problem: str) -> list[tuple[float, float]]:
    xy = []
    for position in ring:
        lon, lat = position[0], position[1]
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise AreaError(
                f"{problem}: coordinates are not WGS 84 longitude, latitude "
                "(RFC 7946; reproject Lambert 72/2008 files to EPSG:4326)"
            )
        xy.append((lon, lat))
    if xy[0] != xy[-1]:
        raise AreaError(f"{problem}: ring is not closed (its last position must repeat the first)")
    return xy
