"""Resolving GPS positions to areas: the demo neighbourhoods as polygons and as H3 cells."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h3
import numpy as np
import pytest
import shapely

from service.areas import (
    MAX_RESOLUTION,
    AreaError,
    H3Areas,
    InvalidCoordinates,
    PolygonAreas,
    demo_areas_path,
    load_areas,
    municipalities,
    read_area_file,
    rollup,
)
from service.areas.h3cells import cell_polygon

# (lat, lon) well inside each demo neighbourhood.
INSIDE = {
    "mechelen-binnenstad": (51.0277, 4.4804),  # Grote Markt
    "mechelen-noord": (51.0450, 4.4700),
    "mechelen-nekkerspoel": (51.0400, 4.5050),
    "mechelen-battel": (51.0400, 4.4330),
    "mechelen-auwegem": (51.0320, 4.4560),
    "mechelen-geerdegem": (51.0100, 4.4500),
    "mechelen-tervuursesteenweg": (51.0080, 4.4800),
    "mechelen-arsenaal": (51.0175, 4.4885),
    "mechelen-ragheno": (51.0120, 4.4990),
    "mechelen-hanswijk": (51.0060, 4.5120),
}
OUTSIDE = {
    "Brussels, Grote Markt": (50.8467, 4.3525),
    "North Sea off Ostend": (51.4500, 2.6000),
    "Antwerp, Groenplaats": (51.2194, 4.4013),
    "Leuven": (50.8798, 4.7005),
    "null island": (0.0, 0.0),
    "just north of the demo territory": (51.0525, 4.4700),
    "just west of the demo territory": (51.0300, 4.4248),
}
BAD_COORDINATES = [(90.5, 4.0), (-91.0, 4.0), (51.0, 180.5), (51.0, -181.0), (math.nan, 4.0), (51.0, math.nan), (math.inf, 4.0)]


@pytest.fixture(scope="module")
def polygons() -> PolygonAreas:
    return PolygonAreas(demo_areas_path())


@pytest.fixture(scope="module")
def cells() -> H3Areas:
    return H3Areas(demo_areas_path())


@pytest.fixture(scope="module")
def territory() -> shapely.Geometry:
    return shapely.union_all([shape.geometry for shape in read_area_file(demo_areas_path())])


def write(tmp_path: Path, features: list[dict]) -> Path:
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def square(code: str, lon: float, lat: float, size: float = 0.01, holes=()) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": code.title()},
        "geometry": {"type": "Polygon", "coordinates": [ring, *holes]},
    }


# --- polygons --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", INSIDE)
def test_polygons_resolve_known_points(polygons, code):
    assert polygons.resolve(*INSIDE[code]) == code


@pytest.mark.parametrize("place", OUTSIDE)
def test_polygons_resolve_points_outside_to_none(polygons, place):
    assert polygons.resolve(*OUTSIDE[place]) is None


def test_polygon_areas_list_and_membership(polygons):
    areas = polygons.areas()
    codes = [area.code for area in areas]
    assert codes == sorted(INSIDE)
    assert {area.name for area in areas} >= {"Binnenstad", "Nekkerspoel", "Ragheno"}
    assert next(a for a in areas if a.code == "mechelen-binnenstad").district == "centrum"
    for code in INSIDE:
        assert code in polygons
    for other in ("mechelen", "MECHELEN-BINNENSTAD", "", None, 1, ["mechelen-battel"], h3.latlng_to_cell(51.0277, 4.4804, 8)):
        assert other not in polygons


def test_a_shared_vertex_resolves_to_the_first_feature_in_the_file(polygons):
    # (51.0190, 4.4815) is a corner of Binnenstad, Arsenaal and Tervuursesteenweg; Binnenstad is first.
    assert polygons.resolve(51.0190, 4.4815) == "mechelen-binnenstad"


def test_overlaps_go_to_the_first_feature_in_file_order(tmp_path):
    path = write(tmp_path, [square("second-drawn-first", 4.005, 51.005), square("first", 4.0, 51.0)])
    resolver = PolygonAreas(path)
    assert resolver.resolve(51.008, 4.008) == "second-drawn-first"
    assert resolver.resolve(51.002, 4.002) == "first"
    reversed_path = write(tmp_path, [square("first", 4.0, 51.0), square("second-drawn-first", 4.005, 51.005)])
    assert PolygonAreas(reversed_path).resolve(51.008, 4.008) == "first"


def test_holes_and_multipolygon_parts(tmp_path):
    hole = [[4.004, 51.004], [4.004, 51.006], [4.006, 51.006], [4.006, 51.004], [4.004, 51.004]]
    multi = {
        "type": "Feature",
        "properties": {"code": "islands", "name": "Islands"},
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [
                [[[4.1, 51.0], [4.11, 51.0], [4.11, 51.01], [4.1, 51.0]]],
                [[[4.2, 51.0], [4.21, 51.0], [4.21, 51.01], [4.2, 51.0]]],
            ],
        },
    }
    resolver = PolygonAreas(write(tmp_path, [square("ring", 4.0, 51.0, holes=[hole]), multi]))
    assert resolver.resolve(51.002, 4.002) == "ring"
    assert resolver.resolve(51.005, 4.005) is None  # in the hole
    assert resolver.resolve(51.002, 4.208) == "islands"
    assert resolver.resolve(51.002, 4.15) is None  # between the islands


# --- H3 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", INSIDE)
def test_h3_resolves_known_points_to_their_cell(cells, code):
    lat, lon = INSIDE[code]
    cell = cells.resolve(lat, lon)
    assert cell == h3.latlng_to_cell(lat, lon, 8)
    assert cell in cells


def test_h3_cell_of_the_grote_markt_rolls_up_to_binnenstad(cells):
    cell = cells.resolve(*INSIDE["mechelen-binnenstad"])
    area = next(a for a in cells.areas() if a.code == cell)
    assert area.name == cell
    assert area.district == "mechelen-binnenstad"


@pytest.mark.parametrize("place", OUTSIDE)
def test_h3_resolves_points_outside_to_none(cells, place):
    assert cells.resolve(*OUTSIDE[place]) is None


@pytest.mark.parametrize("resolution", [5, 7, 8, MAX_RESOLUTION])
def test_h3_resolution_is_respected(resolution):
    resolver = H3Areas(demo_areas_path(), resolution)
    assert resolver.resolution == resolution
    assert {h3.get_resolution(area.code) for area in resolver.areas()} == {resolution}
    for lat, lon in INSIDE.values():
        assert h3.get_resolution(resolver.resolve(lat, lon)) == resolution


@pytest.mark.parametrize("resolution", [-1, MAX_RESOLUTION + 1, 15, 8.0, "8", True, None])
def test_h3_resolution_out_of_range_is_refused(resolution):
    with pytest.raises(AreaError, match="resolution"):
        H3Areas(demo_areas_path(), resolution)


def test_every_h3_area_meets_the_territory_and_together_they_cover_it(cells, territory):
    polygons = [cell_polygon(area.code) for area in cells.areas()]
    for polygon in polygons:
        assert polygon.intersection(territory).area > 0
    assert shapely.union_all(polygons).buffer(1e-9).covers(territory)


@pytest.mark.parametrize("resolution", [6, 8, 9])
def test_h3_areas_are_exactly_the_cells_overlapping_the_territory(territory, resolution):
    # Cross-check against h3's own (experimental) overlap filling.
    expected = h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(territory), resolution, contain="overlap")
    assert {a.code for a in H3Areas(demo_areas_path(), resolution).areas()} == set(expected)


def test_h3_districts_are_the_neighbourhood_holding_the_cell_centre(cells, polygons):
    for area in cells.areas():
        lat, lon = h3.cell_to_latlng(area.code)
        holding = polygons.resolve(lat, lon)
        if holding is not None:
            assert area.district == holding
        else:  # a border cell whose centre is outside: the neighbourhood covering most of it
            assert area.district in polygons


def test_h3_cells_take_the_municipality_of_their_district_polygon(tmp_path):
    # Two neighbouring squares in different municipalities: "west" names its own, "east" takes the
    # file's default. Cells straddling the shared border follow their district, not a majority.
    west = square("west", 4.0, 51.0, size=0.05)
    west["properties"]["municipality"] = "alpha"
    east = square("east", 4.05, 51.0, size=0.05)
    path = tmp_path / "two.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "municipality": "beta", "features": [west, east]}), encoding="utf-8")
    resolver = H3Areas(path, 8)
    expected = {"west": "alpha", "east": "beta"}
    assert {area.district for area in resolver.areas()} == {"west", "east"}
    for area in resolver.areas():
        assert area.municipality == expected[area.district], area.code
        assert rollup(area) == (area.code, area.district, expected[area.district])
    assert municipalities(resolver.areas()) == ["alpha", "beta"]
    cell = resolver.resolve(51.025, 4.025)
    assert next(a for a in resolver.areas() if a.code == cell).municipality == "alpha"
    cell = resolver.resolve(51.025, 4.075)
    assert next(a for a in resolver.areas() if a.code == cell).municipality == "beta"
    polygons = PolygonAreas(path)
    assert [(a.code, a.district, a.municipality) for a in polygons.areas()] == [("east", None, "beta"), ("west", None, "alpha")]
    assert [rollup(a) for a in polygons.areas()] == [("east", "east", "beta"), ("west", "west", "alpha")]


def test_h3_border_cells_resolve_only_inside_the_territory(cells, territory):
    centre_outside = [a.code for a in cells.areas() if not territory.intersects(shapely.Point(h3.cell_to_latlng(a.code)[::-1]))]
    assert centre_outside, "the demo territory should have border cells whose centre lies outside it"
    for cell in centre_outside:
        inside = cell_polygon(cell).intersection(territory).representative_point()
        assert cells.resolve(inside.y, inside.x) == cell
        lat, lon = h3.cell_to_latlng(cell)
        assert cells.resolve(lat, lon) is None


def test_both_modes_agree_with_the_territory_on_a_grid(cells, polygons, territory):
    min_lon, min_lat, max_lon, max_lat = territory.bounds
    lats = np.linspace(min_lat - 0.01, max_lat + 0.01, 61)
    lons = np.linspace(min_lon - 0.01, max_lon + 0.01, 67)
    for lat in lats.tolist():
        for lon in lons.tolist():
            inside = territory.intersects(shapely.Point(lon, lat))
            assert (polygons.resolve(lat, lon) is not None) == inside, (lat, lon)
            cell = cells.resolve(lat, lon)
            assert (cell is not None) == inside, (lat, lon)
            if inside:
                assert cell == h3.latlng_to_cell(lat, lon, 8)


def test_h3_membership(cells):
    assert h3.latlng_to_cell(*INSIDE["mechelen-noord"], 8) in cells
    assert h3.latlng_to_cell(*OUTSIDE["Leuven"], 8) not in cells
    assert h3.latlng_to_cell(*INSIDE["mechelen-noord"], 7) not in cells
    for other in ("mechelen-noord", "", None, 42):
        assert other not in cells


# --- both ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["h3", "polygons"])
@pytest.mark.parametrize("lat, lon", BAD_COORDINATES)
def test_out_of_range_coordinates_raise_value_error_without_echoing_them(mode, lat, lon):
    resolver = load_areas(mode)
    with pytest.raises(InvalidCoordinates) as caught:
        resolver.resolve(lat, lon)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, AreaError)
    assert "90.5" not in str(caught.value) and "180.5" not in str(caught.value)


@pytest.mark.parametrize("mode", ["h3", "polygons"])
def test_range_limits_themselves_are_valid(mode):
    resolver = load_areas(mode)
    for lat, lon in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)]:
        assert resolver.resolve(lat, lon) is None


@pytest.mark.parametrize("mode", ["h3", "polygons"])
def test_document_is_the_sorted_area_list_with_a_strong_etag(mode):
    import hashlib

    resolver = load_areas(mode)
    listed = json.loads(resolver.document)
    assert listed == [
        {"code": a.code, "name": a.name, "district": a.district, "municipality": a.municipality} for a in resolver.areas()
    ]
    assert {item["municipality"] for item in listed} == {"mechelen"}
    assert [item["code"] for item in listed] == sorted(item["code"] for item in listed)
    assert resolver.document == json.dumps(listed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert resolver.etag == '"' + hashlib.sha256(resolver.document).hexdigest() + '"'


def test_etags_are_stable_and_follow_content(tmp_path):
    assert load_areas("h3").etag == load_areas("h3").etag
    assert load_areas("polygons").etag == load_areas("polygons").etag
    assert load_areas("h3", resolution=7).etag != load_areas("h3").etag
    assert load_areas("polygons").etag != load_areas("h3").etag

    doc = json.loads(demo_areas_path().read_text(encoding="utf-8"))
    doc["features"].reverse()  # file order is not part of the list
    reordered = tmp_path / "reordered.geojson"
    reordered.write_text(json.dumps(doc, indent=3), encoding="utf-8")
    assert load_areas("polygons", reordered).etag == load_areas("polygons").etag

    doc["features"][0]["properties"]["name"] = "Elsewhere"
    renamed = tmp_path / "renamed.geojson"
    renamed.write_text(json.dumps(doc), encoding="utf-8")
    assert load_areas("polygons", renamed).etag != load_areas("polygons").etag


@pytest.mark.parametrize("mode", ["h3", "polygons"])
def test_resolvers_offer_the_protocol(mode):
    resolver = load_areas(mode)
    assert resolver.kind == mode
    assert isinstance(resolver.document, bytes)
    assert resolver.etag.startswith('"') and resolver.etag.endswith('"')
    assert all(area.code in resolver for area in resolver.areas())
