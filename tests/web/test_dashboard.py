"""The prevention service's dashboard through the real pages, on real releases: tallies as intake
writes them, weeks released by the scheduler's job or opened from the page, compared with what the
API answers the same organisation. (The same pages in a real browser: tests/browser.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import secrets
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from service.audit.models import AuditEntry
from service.signals.models import BudgetSpend, Release, Tally
from support import People, Partners, bearer, csrf_token

BRUSSELS = ZoneInfo("Europe/Brussels")
# Two municipalities: "north" has two districts (n-centre of two areas, n-harbour of one), "south" one.
AREAS = [
    ("n1", "Oude Markt", "north", "n-centre", (4.00, 51.00)),
    ("n2", "Veemarkt", "north", "n-centre", (4.01, 51.00)),
    ("n3", "Kaaien", "north", "n-harbour", (4.02, 51.00)),
    ("s1", "Zuidpark", "south", "s-centre", (4.00, 50.99)),
    ("s2", "Zuidstation", "south", "s-centre", (4.01, 50.99)),
]
NORTH_NAMES = ("Oude Markt", "Veemarkt", "Kaaien", "n-centre", "n-harbour")


def _square(lon: float, lat: float) -> list[list[list[float]]]:
    d = 0.0099
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


@pytest.fixture
def app_config(app_config, tmp_path):  # type: ignore[no-untyped-def]
    features = [{"type": "Feature", "properties": {"code": code, "name": name, "district": district, "municipality": town},
                 "geometry": {"type": "Polygon", "coordinates": _square(*corner)}} for code, name, town, district, corner in AREAS]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return {**app_config, "AREAS_MODE": "polygons", "AREAS_FILE": str(path)}


# Helpers -----------------------------------------------------------------------------------------


def monday(moment: dt.datetime) -> dt.date:
    day = moment.astimezone(BRUSSELS).date()
    return day - dt.timedelta(days=day.weekday())


def label(week: dt.date) -> str:
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def release_time(week: dt.date) -> dt.datetime:
    """The week's end (the next Monday 00:00 in Brussels) plus the 8 days' delay, in UTC."""
    end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(), tzinfo=BRUSSELS)
    return end.astimezone(dt.timezone.utc) + dt.timedelta(days=8)


def tally(app, week: dt.date, counts: dict[tuple[str, str], int]) -> None:  # type: ignore[no-untyped-def]
    """What intake writes for `counts` reports per (area, category): one tally per reporter, each
    within the contribution cap (2), so the bounded count is the count."""
    rows = []
    for (area, category), count in counts.items():
        for start in range(0, count, 2):
            rows.append({"week": week, "area": area, "category": category, "reporter": secrets.token_bytes(16),
                         "n": min(2, count - start)})
    with Session(app.extensions["safesignal"].engine) as session:
        session.execute(insert(Tally), rows)
        session.commit()


def release_due(app) -> None:  # type: ignore[no-untyped-def]
    """What the scheduler does every hour: release the weeks that are due."""
    from service.signals.domain import signals_job

    signals_job(app.extensions["safesignal"])


def prevention_service(partners: Partners, *municipalities: str, name: str = "Preventiedienst") -> tuple[str, str]:
    """A prevention service with its territory (the operator's CLI): its id and an API token."""
    args = ["partners", "add", "--kind", "prevention_service", "--name", name]
    for municipality in municipalities:
        args += ["--municipality", municipality]
    output = partners.run(*args)
    return output.split()[1], output.rsplit(": ", 1)[1].strip()


def api(client, path: str, token: str):  # type: ignore[no-untyped-def]
    response = client.get(path, headers=bearer(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def spent(client, token: str) -> float:  # type: ignore[no-untyped-def]
    return sum(q["spent"] for q in api(client, "/v1/signals/budget", token).get_json()["quarters"])


def count(app, model, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(app.extensions["safesignal"].engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


class Page(HTMLParser):
    """What a test reads of a dashboard page: the cells table's rows, the map's and chart's shapes
    and their titles, the text a person sees, and the notices."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[list[str]] = []  # of the cells table (a week's places, a series' weeks)
        self.table_rows: list[list[str]] = []  # of every table
        self.shapes: list[str] = []  # the map's paths' titles
        self.points: list[str] = []  # the chart's marks' titles
        self.text: list[str] = []
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._title: list[str] | None = None
        self.feed(html)

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(t == tag and (cls is None or cls in (a.get("class") or "").split()) for t, a in self._stack)

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag in ("meta", "link", "input", "br", "img"):
            return
        self._stack.append((tag, dict(attrs)))
        if tag == "tr" and self._inside("table"):
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "title" and self._inside("svg"):
            self._title = []

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "title" and self._title is not None:
            text = "".join(self._title).strip()
            if self._inside("path") and self._inside("figure", "map"):
                self.shapes.append(text)
            elif self._inside("g") and self._inside("figure", "chart"):
                self.points.append(text)
            self._title = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row and not self._inside("thead"):
                self.table_rows.append(self._row)
                if self._inside("table", "cells"):
                    self.rows.append(self._row)
            self._row = None
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._stack and self._stack[-1][0] in ("script", "style"):
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._title is not None:
            self._title.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def page(client, path: str, status: int = 200) -> tuple[Page, str]:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[-600:])
    html = response.get_data(as_text=True)
    return Page(html), html


def post(client, path: str, from_page: str, status: int = 303):  # type: ignore[no-untyped-def]
    """Press a page's button: post its form with the page's CSRF token."""
    html = client.get(from_page).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token(html)})
    assert response.status_code == status, response.get_data(as_text=True)[-600:]
    return response


@pytest.fixture
def north(app, partners, people, clock):  # type: ignore[no-untyped-def]
    """A released week with counts in the north, a prevention service of the north with a signed-in
    analyst, and its API token: (client, person, token, week)."""
    # The organisation exists before the week: the deployment's calendar starts with its first one.
    organisation, token = prevention_service(partners, "north")
    week = monday(clock.now)
    tally(app, week, {("n1", "dv_mask19"): 40, ("n2", "dv_mask19"): 3, ("n3", "dv_mask19"): 25,
                      ("n1", "housing_need"): 30, ("s1", "dv_mask19"): 35})
    clock.now = release_time(week)
    client, person = people.signed_in("analyst", organisation_id=organisation)
    return client, person, token, week


# The calendar and opening a week -----------------------------------------------------------------


def test_the_calendar_shows_the_budget_and_costs_and_no_get_spends_or_releases_anything(app, north):
    client, person, token, week = north
    calendar, _ = page(client, "/dashboard/")
    assert "Open this week (costs ε 1.0; 14.0 left this quarter)" in calendar.words
    assert ["2026-Q4", "ε 14.0", "ε 0.0", "ε 14.0", "0"] in calendar.table_rows  # the quarter's budget, before anything is spent
    # Every page of a week not opened: the offer, never the numbers; the download refuses.
    week_page, _ = page(client, f"/dashboard/weeks/{label(week)}")
    assert "Open this week (costs ε 1.0; 14.0 left this quarter)" in week_page.words and not week_page.rows
    alerts, _ = page(client, f"/dashboard/weeks/{label(week)}/alerts")
    assert "Read the alerts (costs ε 1.0 in all)" in alerts.words
    refused = client.get(f"/dashboard/weeks/{label(week)}/counts.csv")
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/dashboard/weeks/{label(week)}")
    series, _ = page(client, "/dashboard/series")
    assert "has not opened any week yet" in series.words
    assert client.head(f"/dashboard/weeks/{label(week)}").status_code == 200
    assert spent(client, token) == 0.0
    assert count(app, BudgetSpend) == 0 and count(app, Release) == 0  # nothing charged, nothing computed


def test_opening_a_week_charges_as_the_api_does_and_the_audit_names_the_person(app, north, partners):
    client, person, token, week = north
    path = f"/dashboard/weeks/{label(week)}/open"
    assert client.post(path).status_code == 400  # no CSRF token: refused, nothing spent
    assert count(app, BudgetSpend) == 0
    response = post(client, path, "/dashboard/")
    assert response.headers["Location"].endswith(f"/dashboard/weeks/{label(week)}")
    shown, _ = page(client, response.headers["Location"])
    assert "Week " + label(week) + " is open: 1.0 taken from the budget." in shown.words and shown.rows
    quarters = api(client, "/v1/signals/budget", token).get_json()["quarters"]
    assert quarters[0]["spent"] == 1.0 and quarters[0]["weeks_opened"] == [label(week)]
    # Another organisation of the same territory opening it through the API pays the same.
    _, other = prevention_service(partners, "north", name="Politiezone")
    body = api(client, f"/v1/signals/weeks/{label(week)}/counts", other).get_json()
    assert body["charged"] == 1.0 and spent(client, other) == spent(client, token)
    # Opening again from the page is free, as reading again through the API is.
    post(client, path, "/dashboard/")
    assert spent(client, token) == 1.0 and count(app, BudgetSpend) == 2
    with Session(app.extensions["safesignal"].engine) as session:
        actors = [e.actor for e in session.scalars(select(AuditEntry).where(AuditEntry.kind == "signals.opened"))]
    assert actors[0] == f"person:{person.id}" and actors[1].startswith("credential:")
    calendar, _ = page(client, "/dashboard/")
    assert f"Map and table of {label(week)}" in calendar.words and "13.0" in calendar.words


@pytest.mark.parametrize("geo", ["area", "district", "municipality"])
def test_the_map_and_the_table_show_the_apis_counts(app, north, geo):
    client, person, token, week = north
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    for show, key in (("category:dv_mask19", "category"), ("phenomenon:victimisation", "phenomenon")):
        level, code = show.split(":")
        expected = [c for c in api(client, f"/v1/signals/weeks/{label(week)}/counts?geo={geo}&taxonomy={level}", token).get_json()["cells"]
                    if c[key] == code]
        shown, html = page(client, f"/dashboard/weeks/{label(week)}?geo={geo}&show={show}")
        assert len(shown.rows) == len(expected) == len(shown.shapes) > 0
        for row, cell, title in zip(shown.rows, expected, shown.shapes):
            value = ("–", "–", "–") if cell["value"] is None else (str(cell["value"]), str(cell["low"]), str(cell["high"]))
            assert tuple(row[-4:-1]) == value
            if cell["status"] == "shown":
                assert title == f"{row[0]}: {cell['value']} (likely between {cell['low']} and {cell['high']})"
            else:
                assert title == f"{row[0]}: " + ("fewer than 5" if cell["status"] == "below_k" else "uncertain (5 or more, not clearly)")
        assert html.count("<path d=") == len(expected)
    assert spent(client, token) == 1.0  # every view of the opened week is free


def test_a_hidden_cell_shows_no_value_anywhere(app_with, partners, clock):
    # Next to no noise (epsilon 50) and k = 50: the protected values are the counts, and the area
    # of 43 reports is hidden ("fewer than 50") while its neighbours are shown.
    app = app_with(SIGNALS_K=50, SIGNALS_EPSILON_PER_RELEASE=50, SIGNALS_BUDGET_PER_QUARTER=1000)
    people = People(app, Partners(app))
    organisation, token = prevention_service(partners, "north")
    week = monday(clock.now)
    tally(app, week, {("n1", "dv_mask19"): 120, ("n2", "dv_mask19"): 43, ("n3", "dv_mask19"): 130})
    clock.now = release_time(week)
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    cells = {c["area"]: c for c in api(client, f"/v1/signals/weeks/{label(week)}/counts?geo=area", token).get_json()["cells"]
             if c["category"] == "dv_mask19"}
    assert cells["n2"]["status"] == "below_k" and cells["n1"]["value"] == 120  # the setting works as meant
    for view in ("geo=area&show=category:dv_mask19", "geo=area&show=phenomenon:victimisation", "geo=district&show=category:dv_mask19"):
        shown, html = page(client, f"/dashboard/weeks/{label(week)}?{view}")
        assert not re.search(r"\b43\b", shown.words), view
        assert "43" not in re.sub(r'(d|value|viewBox)="[^"]*"', "", html), view
    veemarkt = next(row for row in page(client, f"/dashboard/weeks/{label(week)}?geo=area")[0].rows if row[0] == "Veemarkt")
    assert veemarkt[-4:] == ["–", "–", "–", "fewer than 50"]
    series, html = page(client, "/dashboard/series?geo=district")
    assert "43" not in re.sub(r'(d|value|viewBox|points|x|y|x1|x2|y1|y2|cx|cy)="[^"]*"', "", html)


# Series, alerts, CSV -----------------------------------------------------------------------------


def test_series_show_only_the_weeks_this_organisation_opened(app, partners, people, clock):
    organisation, token = prevention_service(partners, "north")
    weeks = []
    for counts in (30, 40, 50):
        weeks.append(monday(clock.now))
        tally(app, weeks[-1], {("n1", "dv_mask19"): counts, ("n2", "dv_mask19"): counts})
        clock.advance(days=7)
    clock.now = release_time(weeks[-1])
    release_due(app)  # every week is released; this organisation opens the first and the last
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    for week in (weeks[0], weeks[2]):
        post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    before = spent(client, token)
    shown, html = page(client, "/dashboard/series?geo=district&show=category:dv_mask19&place=north/n-centre")
    assert [row[0] for row in shown.rows] == [label(weeks[0]), label(weeks[2])]
    assert len(shown.points) == 2 and all(p.startswith((label(weeks[0]), label(weeks[2]))) for p in shown.points)
    for row, week in zip(shown.rows, (weeks[0], weeks[2])):
        cell = next(c for c in api(client, f"/v1/signals/weeks/{label(week)}/counts", token).get_json()["cells"]
                    if c["district"] == "n-centre" and c["category"] == "dv_mask19")
        assert row[1:4] == [str(cell["value"]), str(cell["low"]), str(cell["high"])]
    assert label(weeks[1]) not in html
    assert spent(client, token) == before == 2.0  # the series read, they never open
    municipality, _ = page(client, "/dashboard/series?geo=municipality&show=phenomenon:victimisation")
    assert len(municipality.rows) == 2


def test_series_leave_out_a_week_opened_before_the_territory_grew_as_its_page_does(app, partners, people, clock):
    organisation, token = prevention_service(partners, "north")
    weeks = []
    for counts in (30, 40):
        weeks.append(monday(clock.now))
        tally(app, weeks[-1], {("n1", "dv_mask19"): counts, ("s1", "dv_mask19"): counts})
        clock.advance(days=7)
    clock.now = release_time(weeks[-1])
    release_due(app)
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    post(client, f"/dashboard/weeks/{label(weeks[0])}/open", "/dashboard/")
    partners.run("signals", "territory", organisation, "north", "south")  # the first week has no south yet
    post(client, f"/dashboard/weeks/{label(weeks[1])}/open", "/dashboard/")

    shown, html = page(client, "/dashboard/series?geo=municipality&show=category:dv_mask19&place=south/south")
    assert [row[0] for row in shown.rows] == [label(weeks[1])]
    cell = next(c for c in api(client, f"/v1/signals/weeks/{label(weeks[1])}/counts?geo=municipality", token).get_json()["cells"]
                if c["municipality"] == "south" and c["category"] == "dv_mask19")
    assert shown.rows[0][1:4] == [str(cell["value"]), str(cell["low"]), str(cell["high"])]
    assert label(weeks[0]) not in html
    # Nor does the first week's own page show its counts: opening it would record the south first.
    assert page(client, f"/dashboard/weeks/{label(weeks[0])}")[0].rows == []
    assert page(client, f"/dashboard/weeks/{label(weeks[1])}?geo=municipality")[0].rows != []


def _weeks_of_reports(app, clock, weekly: list[int]) -> list[dt.date]:  # type: ignore[no-untyped-def]
    """One week per count: that many dv_mask19 reports in n1, steady neighbours, released by the
    scheduler's job; the weeks' Mondays."""
    weeks = []
    for counts in weekly:
        weeks.append(monday(clock.now))
        tally(app, weeks[-1], {("n1", "dv_mask19"): counts, ("n2", "dv_mask19"): 20, ("n3", "dv_mask19"): 20})
        release_due(app)
        clock.advance(days=7)
    return weeks


def test_alerts_say_what_they_cost_before_and_explain_a_rise_in_plain_words(app_with, partners, clock):
    # Little noise (epsilon 50: sd 0.35 at area level), so the verdicts are known in advance.
    app = app_with(SIGNALS_EPSILON_PER_RELEASE=50, SIGNALS_BUDGET_PER_QUARTER=1000)
    people = People(app, Partners(app))
    organisation, token = prevention_service(partners, "north")
    weeks = _weeks_of_reports(app, clock, [20, 22, 19, 21, 20, 23, 21, 20, 22, 60])
    clock.now = release_time(weeks[-1])
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    path = f"/dashboard/weeks/{label(weeks[-1])}/alerts?geo=area&taxonomy=category"
    offer, _ = page(client, path)
    # The tested week and the 7 baseline weeks, never the 2 guard weeks.
    assert "Read the alerts (costs ε 400.0 in all)" in offer.words
    assert all(label(w) in offer.words for w in weeks[:7] + weeks[9:]) and label(weeks[7]) not in offer.words
    assert spent(client, token) == 0.0
    response = post(client, path, path)
    assert response.headers["Location"].endswith(path.split("/dashboard", 1)[1])
    shown, _ = page(client, response.headers["Location"])
    assert "Alerts read: 400.0 taken from the budget." in shown.words
    counts = next(c for c in api(client, f"/v1/signals/weeks/{label(weeks[-1])}/counts?geo=area", token).get_json()["cells"]
                  if c["area"] == "n1" and c["category"] == "dv_mask19")
    verdict = next(c for c in api(client, f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area", token).get_json()["cells"]
                   if c["area"] == "n1" and c["category"] == "dv_mask19")
    assert verdict["flagged"] and spent(client, token) == 400.0  # the API reads again, free
    sentence = (f"This week's count ({counts['value']}, likely between {counts['low']} and {counts['high']}) is far above "
                f"what the 7 earlier weeks lead us to expect (about {round(verdict['expected'])}). "
                "Such a rise happens by chance less than once in ")
    assert sentence in shown.words and "Alerts found: 1" in shown.words and "Oude Markt" in shown.words
    odds = int(shown.words.split(sentence, 1)[1].split(" weeks")[0].replace(",", ""))
    assert odds >= 740  # a statistic above 3: rarer than once in 740 weeks
    # Another organisation reading the alerts through the API pays what the page said.
    _, other = prevention_service(partners, "north", name="Politiezone")
    assert api(client, f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area", other).get_json()["charged"] == 400.0


def test_alerts_whose_baseline_weeks_can_never_be_released_are_read_again_without_a_button(app_with, partners, clock):
    """Nobody released the baseline weeks while retention held their tallies (no scheduler ran):
    alerts skip them, the offer does not charge for them, and once read the alerts read again."""
    app = app_with(SIGNALS_EPSILON_PER_RELEASE=50, SIGNALS_BUDGET_PER_QUARTER=1000)
    people = People(app, Partners(app))
    organisation, token = prevention_service(partners, "north")
    weeks = []
    for _ in range(10):
        weeks.append(monday(clock.now))
        tally(app, weeks[-1], {("n1", "dv_mask19"): 20, ("n2", "dv_mask19"): 20})
        clock.advance(days=7)
    clock.now = release_time(weeks[-1])
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    path = f"/dashboard/weeks/{label(weeks[-1])}/alerts?geo=district&taxonomy=category"
    offer, _ = page(client, path)
    assert "Read the alerts (costs ε 50.0 in all)" in offer.words  # the tested week only
    assert [row[0] for row in offer.table_rows] == [label(weeks[-1])]
    post(client, path, path)
    shown, _ = page(client, path)
    assert "Read the alerts" not in shown.words and "Alerts found: 0" in shown.words
    # The one cell shown (n-centre's dv_mask19, 40 reports) has no baseline to be judged on.
    assert ["Too few earlier weeks released: no verdict", "1"] in shown.table_rows
    assert spent(client, token) == 50.0


def test_the_csv_is_the_apis_byte_for_byte_and_only_of_an_opened_week(app, north):
    client, person, token, week = north
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    for geo in ("area", "district", "municipality"):
        for taxonomy in ("category", "phenomenon"):
            mine = client.get(f"/dashboard/weeks/{label(week)}/counts.csv?geo={geo}&taxonomy={taxonomy}")
            theirs = api(client, f"/v1/signals/weeks/{label(week)}/counts?geo={geo}&taxonomy={taxonomy}&format=csv", token)
            assert mine.status_code == 200 and mine.mimetype == "text/csv"
            assert mine.get_data() == theirs.get_data()
            assert mine.headers["Content-Disposition"] == theirs.headers["Content-Disposition"] == \
                f'attachment; filename="signals-{label(week)}.csv"'
    rows = list(csv.DictReader(io.StringIO(mine.get_data(as_text=True))))
    assert {r["municipality"] for r in rows} == {"north"}
    assert client.get(f"/dashboard/weeks/{label(week)}/counts.csv?geo=street").status_code == 400
    assert spent(client, token) == 1.0


def test_another_prevention_service_sees_nothing_of_this_ones_territory(app, north, partners, people):
    _, _, _, week = north
    organisation, token = prevention_service(partners, "south", name="Preventiedienst Zuid")
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    for geo in ("area", "district", "municipality"):
        shown, html = page(client, f"/dashboard/weeks/{label(week)}?geo={geo}")
        assert not any(name in html for name in NORTH_NAMES) and "north" not in html, geo
        assert len(shown.shapes) == {"area": 2, "district": 1, "municipality": 1}[geo]
    series, html = page(client, "/dashboard/series")
    assert "north" not in html and not any(name in html for name in NORTH_NAMES)
    csv_text = client.get(f"/dashboard/weeks/{label(week)}/counts.csv?geo=area").get_data(as_text=True)
    assert "north" not in csv_text and "s1" in csv_text


def test_an_exhausted_budget_is_a_friendly_message_and_charges_nothing(app_with, partners, clock):
    app = app_with(SIGNALS_BUDGET_PER_QUARTER=1.5)
    people = People(app, Partners(app))
    organisation, token = prevention_service(partners, "north")
    first = monday(clock.now)
    tally(app, first, {("n1", "dv_mask19"): 30})
    clock.advance(days=7)
    second = monday(clock.now)
    tally(app, second, {("n1", "dv_mask19"): 30})
    clock.now = release_time(second)
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    post(client, f"/dashboard/weeks/{label(first)}/open", "/dashboard/")
    calendar, _ = page(client, "/dashboard/")
    assert "Not enough budget left in 2026-Q4 (ε 0.5 left, it costs ε 1.0)." in calendar.words
    response = post(client, f"/dashboard/weeks/{label(second)}/open", "/dashboard/")  # a stale page's button
    refused, _ = page(client, response.headers["Location"])
    assert "The privacy budget of 2026-Q4 does not allow this: 0.5 of 1.5 left, and it needs 1.0." in refused.words
    assert spent(client, token) == 1.0
    closed, _ = page(client, f"/dashboard/weeks/{label(second)}")
    assert "Not enough budget left in 2026-Q4" in closed.words and not closed.rows


def test_an_h3_deployment_draws_one_hexagon_per_cell(app_with, partners, clock):
    app = app_with(AREAS_MODE="h3", AREAS_FILE=None)  # the demo's Mechelen, in H3 cells
    people = People(app, Partners(app))
    cells = [area.code for area in app.extensions["safesignal"].areas.areas()]
    with app.app_context():  # the CLI of this app (another app's context may be current)
        organisation, _ = prevention_service(people.partners, "mechelen")
    week = monday(clock.now)
    tally(app, week, {(cells[0], "dv_mask19"): 30})
    clock.now = release_time(week)
    client, _ = people.signed_in("analyst", organisation_id=organisation)
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    shown, html = page(client, f"/dashboard/weeks/{label(week)}?geo=area")
    assert len(shown.shapes) == len(cells) == html.count("<path d=")
    hexagons = re.findall(r'<path d="M([^"Z]*)Z"', html)
    assert all(len(points.split()) == 12 for points in hexagons[:5])  # six corners, x and y each
    assert all(re.fullmatch(r"-?\d+(\.\d)?", number) for number in hexagons[0].split())  # one decimal at most
    districts, _ = page(client, f"/dashboard/weeks/{label(week)}?geo=district")
    assert "Binnenstad" in districts.words  # the area file's names for the districts the cells count in


# Input, roles, sign-in ---------------------------------------------------------------------------


def test_bad_input_is_a_4xx_never_a_500(app, north):
    client, _, token, week = north
    assert client.get("/dashboard/weeks/2026-W99").status_code == 404
    assert client.get("/dashboard/weeks/nonsense/alerts").status_code == 404
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    for query in ("geo=street", "show=category:no_such", "show=nonsense", "geo=area&geo=district"):
        assert client.get(f"/dashboard/weeks/{label(week)}?{query}").status_code == 400, query
    assert client.get("/dashboard/series?geo=area").status_code == 400  # series are by district or municipality
    assert client.get(f"/dashboard/weeks/{label(week)}/alerts?taxonomy=street").status_code == 400
    # A place of the other level (the level just changed) falls back to the first place of this one.
    assert client.get("/dashboard/series?geo=municipality&place=north/n-centre").status_code == 200
    scheduled = label(monday(app.extensions["safesignal"].clock()))
    closed, _ = page(client, f"/dashboard/weeks/{scheduled}")
    assert "cannot be opened" in closed.words
    response = post(client, f"/dashboard/weeks/{scheduled}/open", "/dashboard/")
    notice, _ = page(client, response.headers["Location"])
    assert "This week is not released, or can no longer be released." in notice.words
    assert spent(client, token) == 1.0


PAGES = ["/dashboard/", "/dashboard/series", "/dashboard/weeks/2026-W48", "/dashboard/weeks/2026-W48/alerts",
         "/dashboard/weeks/2026-W48/counts.csv"]
POSTS = ["/dashboard/weeks/2026-W48/open", "/dashboard/weeks/2026-W48/alerts"]


@pytest.mark.parametrize("role", ["pharmacy", "coordinator", "dpo", "admin"])
def test_no_other_role_gets_a_dashboard_page(app, people, role):
    client, _ = people.signed_in(role)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    # A button pressed with a valid token (the header's forms carry one on every page) is refused too.
    token = csrf_token(client.get(PAGES[0]).get_data(as_text=True))
    for path in POSTS:
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_nobody_signed_in_is_sent_to_sign_in_first(app):
    client = app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"/sign-in?next={path}", path


def test_the_analyst_lands_on_the_calendar(app, people):
    client, _ = people.signed_in("analyst")
    assert client.get("/").headers["Location"] == "/dashboard/"
    calendar, _ = page(client, "/dashboard/")
    assert "no municipality in its territory" in calendar.words


def test_pages_weigh_well_under_the_bench_limit(app, north):
    client, _, _, week = north
    post(client, f"/dashboard/weeks/{label(week)}/open", "/dashboard/")
    css = client.get("/static/dashboard/dashboard.css").get_data() + client.get("/static/css/site.css").get_data()
    for path in (f"/dashboard/weeks/{label(week)}?geo=area", "/dashboard/", "/dashboard/series"):
        assert len(client.get(path).get_data()) + len(css) < 100_000, path

