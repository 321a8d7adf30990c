"""A two-municipality deployment for the signals tests, and helpers to report into it.

A module the signals test modules import by name (`from signals_support import ...`), fixtures
included, as every test imports its shared helpers (tests/support.py); not a conftest.py, which
pytest loads as a plugin and nothing imports.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import bearer

# Two municipalities; "north" has two districts (one of a single area), "south" one district.
AREAS = [
    ("n1", "north", "n-centre", (4.00, 51.00)),
    ("n2", "north", "n-centre", (4.01, 51.00)),
    ("n3", "north", "n-harbour", (4.02, 51.00)),
    ("s1", "south", "s-centre", (4.00, 50.99)),
    ("s2", "south", "s-centre", (4.01, 50.99)),
]


def _square(lon: float, lat: float) -> list[list[list[float]]]:
    d = 0.009
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def area_file(path: Path) -> Path:
    features = [
        {"type": "Feature", "properties": {"code": code, "name": code.upper(), "district": district, "municipality": town},
         "geometry": {"type": "Polygon", "coordinates": _square(*corner)}}
        for code, town, district, corner in AREAS
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


@pytest.fixture
def app_config(app_config, tmp_path):  # type: ignore[no-untyped-def]
    """The shared test configuration, on the two-municipality area file in polygons mode."""
    return {**app_config, "AREAS_MODE": "polygons", "AREAS_FILE": str(area_file(tmp_path / "areas.geojson"))}


# The default SAFESIGNAL_SIGNALS_TIME_ZONE: weeks are ISO weeks of local time there.
BRUSSELS = ZoneInfo("Europe/Brussels")


def monday(moment: dt.datetime) -> dt.date:
    """The Monday of the Brussels ISO week holding `moment`."""
    day = moment.astimezone(BRUSSELS).date()
    return day - dt.timedelta(days=day.weekday())


def label(week: dt.date) -> str:
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


class Reporting:
    """Pharmacies that report into chosen cells over HTTP, and analysts that read."""

    def __init__(self, client, partners, clock):  # type: ignore[no-untyped-def]
        self.client, self.partners, self.clock = client, partners, clock
        self._pharmacies: dict[tuple[str, int], str] = {}
        self.organisations: dict[str, str] = {}  # analyst organisation name -> id

    def pharmacy(self, area: str, number: int = 0) -> str:
        key = (area, number)
        if key not in self._pharmacies:
            _, token = self.partners.add("pharmacy", f"Apotheek {area} {number}", area)
            self._pharmacies[key] = token  # type: ignore[assignment]
        return self._pharmacies[key]

    def report(self, area: str, category: str, count: int, *, pharmacy: int = 0) -> None:
        """`count` reports observed half an hour ago, from one pharmacy of `area`."""
        observed = (self.clock.now - dt.timedelta(minutes=30)).isoformat()
        token = self.pharmacy(area, pharmacy)
        for start in range(0, count, 500):
            reports = [{"category": category, "observed_at": observed} for _ in range(min(500, count - start))]
            response = self.client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
            assert response.status_code == 200 and response.get_json()["accepted"] == len(reports), response.get_json()

    def spread(self, area: str, category: str, count: int) -> None:
        """`count` reports, one from each of `count` pharmacies (no contribution bound applies)."""
        for number in range(count):
            self.report(area, category, 1, pharmacy=number)

    def analyst(self, *municipalities: str, name: str = "Preventiedienst") -> str:
        args = ["partners", "add", "--kind", "prevention_service", "--name", name]
        for municipality in municipalities:
            args += ["--municipality", municipality]
        output = self.partners.run(*args)
        self.organisations[name] = output.split()[1]
        return output.rsplit(": ", 1)[1].strip()

    def counts(self, token: str, week: dt.date, geo: str = "area", taxonomy: str = "category", expect: int = 200):  # type: ignore[no-untyped-def]
        response = self.client.get(
            f"/v1/signals/weeks/{label(week)}/counts?geo={geo}&taxonomy={taxonomy}", headers=bearer(token)
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def release_time(self, week: dt.date) -> dt.datetime:
        """The week's end (the next Monday 00:00 in Brussels) plus 8 days of elapsed time, in UTC."""
        end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(), tzinfo=BRUSSELS)
        return end.astimezone(dt.timezone.utc) + dt.timedelta(days=8)


@pytest.fixture
def reporting(client, partners, clock) -> Reporting:  # type: ignore[no-untyped-def]
    return Reporting(client, partners, clock)
