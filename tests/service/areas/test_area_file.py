"""The GeoJSON area file: strict validation, and the shipped Mechelen demo file's geometry."""

from __future__ import annotations

import ast
import copy
import itertools
import json
from pathlib import Path

import pytest
import shapely

from service.areas import (
    DEFAULT_MUNICIPALITY,
    Area,
    AreaError,
    H3Areas,
    PolygonAreas,
    demo_areas_path,
    load_areas,
    municipalities,
    read_area_file,
    rollup,
)

SQUARE = [[4.0, 51.0], [4.1, 51.0], [4.1, 51.1], [4.0, 51.1], [4.0, 51.0]]


def feature(code="a", name="A", ring=SQUARE, **properties) -> dict:
    props = {"code": code, "name": name, **properties}
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def demo_doc() -> dict:
    return json.loads(demo_areas_path().read_text(encoding="utf-8"))


# --- the demo file ---------------------------------------------------------------------------------


def test_demo_file_holds_mechelen_neighbourhoods():
    shapes = read_area_file(demo_areas_path())
    assert 8 <= len(shapes) <= 12
    names = {shape.area.name for shape in shapes}
    assert {"Binnenstad", "Nekkerspoel", "Battel", "Ragheno", "Arsenaal"} <= names
    assert any(name.startswith("Tervuursesteenweg") for name in names)
    for shape in shapes:
        assert shape.area.code.startswith("mechelen-")
        assert shape.area.district
        assert shape.area.municipality == "mechelen"
        min_lon, min_lat, max_lon, max_lat = shape.geometry.bounds
        assert 50.99 <= min_lat < max_lat <= 51.06
        assert 4.42 <= min_lon < max_lon <= 4.53


def test_demo_polygons_do_not_overlap():
    shapes = read_area_file(demo_areas_path())
    for a, b in itertools.combinations(shapes, 2):
        # Interiors may not meet; sharing a border is how neighbourhoods tile a city.
        assert not shapely.relate_pattern(a.geometry, b.geometry, "T********"), (a.area.code, b.area.code)


def test_demo_polygons_tile_the_territory_without_gaps():
    shapes = read_area_file(demo_areas_path())
    territory = shapely.union_all([shape.geometry for shape in shapes])
    assert territory.geom_type == "Polygon"
    assert not territory.interiors
    assert territory.area == pytest.approx(sum(shape.geometry.area for shape in shapes))


def test_demo_rings_are_counter_clockwise_as_rfc7946_recommends():
    for shape in read_area_file(demo_areas_path()):
        assert shape.geometry.exterior.is_ccw


# --- load_areas ------------------------------------------------------------------------------------


def test_load_areas_defaults_to_h3_at_resolution_8_over_the_demo_file():
    resolver = load_areas()
    assert isinstance(resolver, H3Areas)
    assert resolver.kind == "h3"
    assert resolver.resolution == 8


def test_load_areas_polygons_and_explicit_paths(tmp_path, demo_doc):
    resolver = load_areas("polygons")
    assert isinstance(resolver, PolygonAreas)
    assert resolver.kind == "polygons"
    copied = write(tmp_path, demo_doc)
    assert load_areas("polygons", str(copied)).etag == resolver.etag
    assert load_areas("h3", copied, 7).etag == load_areas(resolution=7).etag


def test_unknown_mode_is_an_area_error():
    with pytest.raises(AreaError, match="mode"):
        load_areas("hexagons")


# --- invalid files ---------------------------------------------------------------------------------


def _drop_code(d):
    del d["features"][0]["properties"]["code"]


def _duplicate(d):
    d["features"].append(copy.deepcopy(d["features"][0]))


def _bowtie(d):
    d["features"][0]["geometry"]["coordinates"] = [[[4.0, 51.0], [4.1, 51.1], [4.1, 51.0], [4.0, 51.1], [4.0, 51.0]]]


def _lambert(d):
    d["features"][0]["geometry"]["coordinates"] = [[[157000, 189000], [158000, 189000], [158000, 190000], [157000, 189000]]]


def _unclosed(d):
    d["features"][0]["geometry"]["coordinates"] = [SQUARE[:-1] + [[4.0, 51.05]]]


def _hole_outside(d):
    hole = [[5.0, 52.0], [5.1, 52.0], [5.1, 52.1], [5.0, 52.0]]
    d["features"][0]["geometry"]["coordinates"].append(hole)


def _flat(d):
    d["features"][0]["geometry"]["coordinates"] = [[[4.0, 51.0], [4.5, 51.5], [5.0, 52.0], [4.0, 51.0]]]


INVALID = [
    pytest.param(lambda d: d.update(type="Feature"), "not a GeoJSON FeatureCollection", id="a Feature"),
    pytest.param(lambda d: d.pop("type"), "not a GeoJSON FeatureCollection", id="no type"),
    pytest.param(lambda d: d.update(features=[]), "at `$.features`", id="no features"),
    pytest.param(_drop_code, "missing required field `code` - at `$.features[0].properties`", id="no code"),
    pytest.param(lambda d: d["features"][0]["properties"].update(code=None), "at `$.features[0].properties.code`", id="null code"),
    pytest.param(lambda d: d["features"][0]["properties"].update(code=""), "at `$.features[0].properties.code`", id="empty code"),
    pytest.param(lambda d: d["features"][0]["properties"].update(code="a b"), "at `$.features[0].properties.code`", id="code with blank"),
    pytest.param(lambda d: d["features"][0]["properties"].pop("name"), "missing required field `name`", id="no name"),
    pytest.param(lambda d: d["features"][0].update(properties=None), "at `$.features[0].properties`", id="null properties"),
    pytest.param(_duplicate, "duplicate area code 'a' - at `$.features[1]`", id="duplicate code"),
    pytest.param(_bowtie, "invalid polygon (Self-intersection", id="self-intersection"),
    pytest.param(_hole_outside, "invalid polygon", id="hole outside shell"),
    pytest.param(_flat, "invalid polygon", id="no area"),
    pytest.param(_unclosed, "ring is not closed", id="unclosed ring"),
    pytest.param(lambda d: d["features"][0]["geometry"].update(coordinates=[SQUARE[:3]]), "length >= 4", id="short ring"),
    pytest.param(lambda d: d["features"][0]["geometry"].update(coordinates=[]), "length >= 1", id="no rings"),
    pytest.param(_lambert, "not WGS 84 longitude, latitude", id="Lambert 72 metres"),
    pytest.param(lambda d: d["features"][0].update(geometry={"type": "Point", "coordinates": [4.0, 51.0]}), "Invalid value 'Point'", id="point"),
    pytest.param(lambda d: d["features"][0].update(geometry=None), "at `$.features[0].geometry`", id="null geometry"),
]


@pytest.mark.parametrize("edit, message", INVALID)
def test_bad_files_raise_area_error_naming_the_problem(tmp_path, edit, message):
    doc = collection(feature())
    edit(doc)
    path = write(tmp_path, doc)
    with pytest.raises(AreaError) as caught:
        read_area_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    # Both resolvers refuse it the same way.
    with pytest.raises(AreaError):
        PolygonAreas(path)
    with pytest.raises(AreaError):
        H3Areas(path)


def test_a_geometry_instead_of_a_collection_is_refused(tmp_path):
    path = write(tmp_path, {"type": "Polygon", "coordinates": [SQUARE]})
    with pytest.raises(AreaError, match="not a GeoJSON FeatureCollection"):
        read_area_file(path)


def test_malformed_json_is_refused(tmp_path):
    path = tmp_path / "areas.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(AreaError, match="malformed"):
        read_area_file(path)


def test_a_missing_file_is_an_area_error(tmp_path):
    with pytest.raises(AreaError, match="cannot read area file .*nope.geojson"):
        load_areas("polygons", tmp_path / "nope.geojson")


def test_extra_members_altitude_and_multipolygons_are_accepted(tmp_path):
    with_altitude = [[x, y, 12.5] for x, y in SQUARE]
    other = [[x + 0.2, y] for x, y in SQUARE]
    doc = collection(
        {**feature("a", ring=with_altitude, population=1234, district=None), "id": 7, "bbox": [4.0, 51.0, 4.1, 51.1]},
        {
            "type": "Feature",
            "properties": {"code": "b", "name": "B", "district": "east"},
            "geometry": {"type": "MultiPolygon", "coordinates": [[other], [[[x + 0.4, y] for x, y in SQUARE]]]},
        },
    )
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    shapes = read_area_file(write(tmp_path, doc))
    assert [s.area.code for s in shapes] == ["a", "b"]
    assert shapes[0].area.district is None
    assert shapes[0].geometry.has_z is False
    assert shapes[1].geometry.geom_type == "MultiPolygon"
    assert shapes[1].area.district == "east"


# --- municipalities and roll-ups ------------------------------------------------------------------


def test_a_feature_municipality_wins_over_the_file_default(tmp_path):
    other = [[x + 0.2, y] for x, y in SQUARE]
    doc = {**collection(feature("a", municipality="willebroek"), feature("b", ring=other)), "municipality": "mechelen"}
    shapes = read_area_file(write(tmp_path, doc))
    assert [(s.area.code, s.area.municipality) for s in shapes] == [("a", "willebroek"), ("b", "mechelen")]


def test_without_any_municipality_the_whole_file_is_the_default_territory(tmp_path):
    other = [[x + 0.2, y] for x, y in SQUARE]
    shapes = read_area_file(write(tmp_path, collection(feature("a"), feature("b", ring=other, municipality=None))))
    assert DEFAULT_MUNICIPALITY == "territory"
    assert [s.area.municipality for s in shapes] == ["territory", "territory"]


@pytest.mark.parametrize("bad", ["a b", "", "-mechelen", "x" * 65, 7, ["mechelen"]])
def test_an_invalid_feature_municipality_is_refused_naming_the_feature(tmp_path, bad):
    other = [[x + 0.2, y] for x, y in SQUARE]
    path = write(tmp_path, collection(feature("a"), feature("b", ring=other, municipality=bad)))
    with pytest.raises(AreaError) as caught:
        read_area_file(path)
    assert "at `$.features[1].properties.municipality`" in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("bad", ["Sint Katelijne", "", 2800])
def test_an_invalid_file_municipality_is_refused(tmp_path, bad):
    path = write(tmp_path, {**collection(feature()), "municipality": bad})
    with pytest.raises(AreaError, match=r"at `\$\.municipality`"):
        read_area_file(path)


def test_rollup_makes_an_area_without_district_a_district_of_its_own():
    assert rollup(Area("a", "A", None, "territory")) == ("a", "a", "territory")
    assert rollup(Area("b", "B", "centrum", "mechelen")) == ("b", "centrum", "mechelen")


def test_rollup_of_the_demo_areas_ends_in_one_municipality():
    areas = PolygonAreas(demo_areas_path()).areas()
    rolled = {rollup(area) for area in areas}
    assert {area for area, _, _ in rolled} == {area.code for area in areas}
    assert {district for _, district, _ in rolled} == {"centrum", "noord", "oost", "west", "zuid"}
    assert {municipality for _, _, municipality in rolled} == {"mechelen"}


def test_municipalities_are_sorted_and_unique():
    areas = [Area("c", "C", None, "mechelen"), Area("a", "A", "x", "bonheiden"), Area("b", "B", None, "mechelen")]
    assert municipalities(areas) == ["bonheiden", "mechelen"]
    assert municipalities([]) == []
    assert municipalities(load_areas("h3").areas()) == ["mechelen"]


# --- boundaries ------------------------------------------------------------------------------------


def test_the_package_does_not_import_flask():
    package = demo_areas_path().parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in {"flask", "flask_smorest"} for n in names), module.name
