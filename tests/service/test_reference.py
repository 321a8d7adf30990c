"""Taxonomy and area downloads: content, ETag, conditional requests; polygon areas end to end."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from support import bearer


@pytest.mark.parametrize("path", ["/v1/taxonomy", "/v1/areas"])
def test_downloads_carry_an_etag_and_answer_304_when_unchanged(client, partners, path):
    token = partners.pharmacy()
    first = client.get(path, headers=bearer(token))
    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    again = client.get(path, headers={**bearer(token), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    stale = client.get(path, headers={**bearer(token), "If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_the_taxonomy_download_has_every_category_in_three_languages(client, partners):
    body = client.get("/v1/taxonomy", headers=bearer(partners.pharmacy())).get_json()
    categories = body["categories"]
    codes = {c["code"] for c in categories}
    assert {"dv_mask19", "harm_reduction_naloxone", "housing_need", "elderly_isolation"} <= codes
    assert all({"nl", "fr", "en"} <= set(c["labels"]) for c in categories)


def test_the_area_list_names_each_area_its_district_and_municipality(app, client, partners):
    areas = client.get("/v1/areas", headers=bearer(partners.pharmacy())).get_json()
    resolver = app.extensions["safesignal"].intake.areas
    assert [a["code"] for a in areas] == [a.code for a in resolver.areas()]
    assert all(a["district"] for a in areas)
    assert {a["municipality"] for a in areas} == {"mechelen"}


def test_polygon_areas_map_a_location_to_the_neighbourhood(app_with, partners, clock):
    app = app_with(AREAS_MODE="polygons")
    client = app.test_client()
    codes = [a["code"] for a in client.get("/v1/areas", headers=bearer(partners.pharmacy())).get_json()]
    assert "mechelen-binnenstad" in codes
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    code = partners.enroll_code(organisation_id)
    token = client.post("/v1/devices/enroll", json={"code": code}).get_json()["token"]
    report = {"client_id": uuid.uuid4().hex, "category": "public_drug_use",
              "observed_at": (clock.now - dt.timedelta(hours=1)).isoformat(),
              "location": {"lat": 51.0279, "lon": 4.4801}}  # Grote Markt, in the city centre
    assert client.post("/v1/field/reports/batch", json={"reports": [report]}, headers=bearer(token)).get_json()["accepted"] == 1
    from sqlalchemy import select

    from service.reports.models import Report

    with app.extensions["safesignal"].sessions() as session:
        assert session.scalars(select(Report.area)).all() == ["mechelen-binnenstad"]


def test_a_weak_etag_from_a_proxy_still_gets_304(client, partners):
    token = partners.pharmacy()
    etag = client.get("/v1/taxonomy", headers=bearer(token)).headers["ETag"]
    assert client.get("/v1/taxonomy", headers={**bearer(token), "If-None-Match": f"W/{etag}"}).status_code == 304


def test_the_areas_command_lists_what_a_pharmacy_can_be_registered_in(app, partners):
    output = partners.run("areas")
    codes = [line.split()[0] for line in output.splitlines()]
    assert codes == [area.code for area in app.extensions["safesignal"].intake.areas.areas()]
    partners.add("pharmacy", "Apotheek", codes[-1])  # accepted as --area


def test_the_documented_shapes_of_the_downloads_match_what_is_served(app, client, partners):
    token = partners.pharmacy()
    paths = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()["paths"]
    for path, python_type in (("/v1/taxonomy", dict), ("/v1/areas", list)):
        documented = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"]
        served = client.get(path, headers=bearer(token)).get_json()
        assert isinstance(served, python_type) and documented == {dict: "object", list: "array"}[python_type]
