"""Analysts' signals over HTTP: tallies at intake, the calendar, territories, the budget, and the
attacks the protection layers exist for."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading

import pytest
from support import bearer
from signals_support import app_config, label, monday, reporting  # noqa: F401 - fixtures
from sqlalchemy import func, select

from service.audit import log as audit_log
from service.audit.models import AuditEntry
from service.signals.models import BudgetSpend, Release, Tally
from service.signals.protection import Grid

WEEK_FIELDS = ("municipality", "district", "area", "phenomenon", "category")


def _state(app):  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"]


def _rows(engine, model, *where):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(model.__table__).where(*where)).all()


@pytest.fixture
def precise(app_with):  # type: ignore[no-untyped-def]
    """An app whose noise is negligible (epsilon 1000: scale 0.012), to see exact protected
    values: what a worst-case attacker facing no noise at all would see. k stays 5."""
    return app_with(SIGNALS_EPSILON_PER_RELEASE=1000, SIGNALS_BUDGET_PER_QUARTER=1000)


# --- tallies at intake ---------------------------------------------------------------------------

def test_intake_keeps_exact_tallies_per_reporter_and_cell(app, client, reporting, clock, db_engine):
    reporting.report("n1", "dv_mask19", 3)
    reporting.report("n1", "dv_mask19", 2)  # the same pharmacy again: the same tally
    reporting.report("n1", "dv_mask19", 1, pharmacy=1)
    reporting.report("n2", "housing_need", 4)
    token = reporting.pharmacy("n1")
    bad = [{"category": "no_such_category", "observed_at": clock.now.isoformat()}]
    assert client.post("/v1/pharmacy/reports/batch", json={"reports": bad}, headers=bearer(token)).get_json()["rejected"] == 1
    replay = [{"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=5)).isoformat(), "client_id": "replay-0001"}]
    for _ in range(3):
        response = client.post("/v1/pharmacy/reports/batch", json={"reports": replay}, headers=bearer(token))
        assert response.get_json()["accepted"] == 1  # stored once, acknowledged each time

    rows = sorted((r.area, r.category, r.n) for r in _rows(db_engine, Tally))
    assert rows == [("n1", "dv_mask19", 1), ("n1", "dv_mask19", 6), ("n2", "housing_need", 4)]
    assert {r.week for r in _rows(db_engine, Tally)} == {monday(clock.now)}
    assert all(len(r.reporter) == 16 for r in _rows(db_engine, Tally))


def test_concurrent_reports_into_one_cell_add_up_exactly(app, reporting, db_engine):
    token = reporting.pharmacy("n1")
    errors: list[object] = []

    def submit() -> None:
        client = app.test_client()
        observed = (reporting.clock.now - dt.timedelta(minutes=30)).isoformat()
        for _ in range(10):
            response = client.post("/v1/pharmacy/reports/batch", headers=bearer(token),
                                   json={"reports": [{"category": "dv_mask19", "observed_at": observed}] * 5})
            if response.status_code != 200:
                errors.append(response.get_json())

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r.n for r in _rows(db_engine, Tally)] == [6 * 10 * 5]


# --- the calendar -----------------------------------------------------------------------------

def test_a_week_is_released_once_it_has_ended_plus_the_delay(app, client, reporting, clock):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week) - dt.timedelta(microseconds=1)
    listed = {w["week"]: w for w in client.get("/v1/signals/calendar", headers=bearer(token)).get_json()["weeks"]}
    assert listed[label(week)]["status"] == "scheduled"
    refused = reporting.counts(token, week, expect=404)
    assert refused["message"] == (
        f"Week {label(week)} is not released yet; it will be at {reporting.release_time(week).isoformat()} (8 days after it ends)."
    )

    clock.now = reporting.release_time(week)
    calendar = client.get("/v1/signals/calendar", headers=bearer(token)).get_json()
    assert {w["week"]: w["status"] for w in calendar["weeks"]}[label(week)] == "due"
    assert calendar["k"] == 5 and calendar["delay_days"] == 8 and calendar["epsilon_per_release"] == 1.0
    reporting.counts(token, week)
    listed = {w["week"]: w for w in client.get("/v1/signals/calendar", headers=bearer(token)).get_json()["weeks"]}
    assert listed[label(week)]["status"] == "released" and listed[label(week)]["opened"] is True


def test_a_week_whose_tallies_are_gone_cannot_be_released(app, client, reporting, clock):
    week = monday(clock.now)
    token = reporting.analyst("north")
    # Tallies are kept 35 days from the week's Monday; nobody asked for the week in time.
    clock.now = dt.datetime.combine(week, dt.time(), tzinfo=dt.timezone.utc) + dt.timedelta(days=35)
    reporting.spread("n1", "dv_mask19", 1)  # the service counts something now, weeks later
    body = reporting.counts(token, week, expect=404)
    assert "retention deleted its tallies before it was released" in body["message"]
    assert label(week) not in {w["week"] for w in client.get("/v1/signals/calendar", headers=bearer(token)).get_json()["weeks"]}


def test_the_scheduler_job_releases_due_weeks_once(app, reporting, clock, db_engine):
    from service.signals.domain import signals_job

    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    clock.now = reporting.release_time(week)
    signals_job(_state(app))
    signals_job(_state(app))
    # Every municipality, once, for every week from the deployment's first: the week before the
    # first organisation was created (a report may be observed up to the intake window earlier),
    # and this one. When the calendar starts never depends on a report.
    released = sorted((r.week, r.municipality) for r in _rows(db_engine, Release))
    before = week - dt.timedelta(days=7)
    assert released == [(before, "north"), (before, "south"), (week, "north"), (week, "south")]


# --- territories and formats ----------------------------------------------------------------------

def test_an_analyst_sees_the_whole_grid_of_its_own_territory_only(app, client, reporting, clock):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    reporting.spread("s1", "dv_mask19", 6)
    north, south = reporting.analyst("north", name="Noord"), reporting.analyst("south", name="Zuid")
    both = reporting.analyst("north", "south", name="Politiezone")
    nowhere = reporting.analyst(name="Zonder gebied")
    clock.now = reporting.release_time(week)

    cells = reporting.counts(north, week)["cells"]
    categories = len(_state(app).intake.taxonomy.categories)
    assert {c["municipality"] for c in cells} == {"north"}
    assert len(cells) == 3 * categories and {c["area"] for c in cells} == {"n1", "n2", "n3"}
    assert {c["municipality"] for c in reporting.counts(south, week)["cells"]} == {"south"}
    assert {c["municipality"] for c in reporting.counts(both, week, geo="municipality")["cells"]} == {"north", "south"}
    refused = reporting.counts(nowhere, week, expect=403)
    assert "territory" in refused["message"]


def test_csv_carries_the_same_cells_as_json(app, client, reporting, clock):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 7)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    body = reporting.counts(token, week, geo="district", taxonomy="phenomenon")
    response = client.get(f"/v1/signals/weeks/{label(week)}/counts?geo=district&taxonomy=phenomenon&format=csv", headers=bearer(token))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == len(body["cells"]) == 2 * 4
    for row, cell in zip(rows, body["cells"]):
        assert row["week"] == label(week)
        assert row["district"] == cell["district"] and row["phenomenon"] == cell["phenomenon"]
        assert row["value"] == ("" if cell["value"] is None else str(cell["value"])) and row["status"] == cell["status"]


@pytest.mark.parametrize("path", [
    "/v1/signals/weeks/2026-W99/counts", "/v1/signals/weeks/2026-48/counts", "/v1/signals/weeks/%C2%B2026-W48/counts",
    "/v1/signals/weeks/9999-W52/counts", "/v1/signals/weeks/0001-W01/alerts", "/v1/signals/weeks/1999-W52/counts",
    "/v1/signals/weeks/2026-W48/counts?from=2026-01-01", "/v1/signals/weeks/2026-W48/alerts?format=csv",
    "/v1/signals/calendar?area=n1",
    "/v1/signals/weeks/2026-W48/counts?geo=street", "/v1/signals/weeks/2026-W48/counts?taxonomy=note",
    "/v1/signals/weeks/2026-W48/counts?format=xlsx", "/v1/signals/weeks/2026-W48/alerts?geo=<script>",
    "/v1/signals/weeks/2026-W48/counts?geo=area&geo=district", "/v1/signals/weeks/2026-W48/counts?format=csv&format=json",
])
def test_a_bad_week_or_level_is_a_422_that_names_the_field(client, reporting, path):
    token = reporting.analyst("north")
    response = client.get(path, headers=bearer(token))
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == 422
    ((location, fields),) = body["errors"].items()
    assert location in ("path", "query") and len(fields) == 1
    assert "script" not in response.get_data(as_text=True) and "street" not in response.get_data(as_text=True)


def test_an_endpoint_without_parameters_says_so(client, reporting):
    token = reporting.analyst("north")
    for path in ("/v1/signals/calendar?foo=1", "/v1/signals/budget?quarter=2026-Q4"):
        body = client.get(path, headers=bearer(token)).get_json()
        assert body["code"] == 422 and list(body["errors"]["query"].values()) == [
            ["Unknown parameter: this endpoint takes no parameters."]]


def test_head_never_opens_a_week(client, reporting, clock):
    """Opening a week charges the budget: a HEAD (a link checker, a monitor) gets 405 and spends
    nothing, where a GET would have opened the week."""
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 9)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    for path in (f"/v1/signals/weeks/{label(week)}/counts", f"/v1/signals/weeks/{label(week)}/alerts"):
        response = client.head(path, headers=bearer(token))
        assert response.status_code == 405 and response.headers["Allow"] == "GET"
    assert client.get("/v1/signals/budget", headers=bearer(token)).get_json()["quarters"][0]["spent"] == 0.0
    assert client.head("/v1/signals/weeks/2026-W48/counts").status_code == 401  # who asks comes first
    assert reporting.counts(token, week)["charged"] == 1.0


# --- averaging, budget, audit -----------------------------------------------------------------------

def test_asking_again_returns_the_same_numbers_and_spends_nothing(app, client, reporting, clock, db_engine):
    week = monday(clock.now)
    for area, n in (("n1", 9), ("n2", 12), ("n3", 7)):
        reporting.spread(area, "dv_mask19", n)
    first = reporting.analyst("north", name="A")
    second = reporting.analyst("north", name="B")
    clock.now = reporting.release_time(week)

    answers = [reporting.counts(first, week) for _ in range(25)]
    assert answers[0]["charged"] == 1.0 and all(a["charged"] == 0.0 for a in answers[1:])
    assert all(a["cells"] == answers[0]["cells"] for a in answers)
    # Another organisation reads the very same release: colluding does not average noise away.
    assert reporting.counts(second, week)["cells"] == answers[0]["cells"]
    budget = client.get("/v1/signals/budget", headers=bearer(first)).get_json()["quarters"][0]
    assert budget == {"quarter": "2026-Q4", "budget": 14.0, "spent": 1.0, "remaining": 13.0, "weeks_opened": [label(week)]}
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Release)).scalar_one() == 2  # north, south
        assert connection.execute(select(func.count()).select_from(BudgetSpend)).scalar_one() == 2  # A and B, once each


def test_an_exhausted_budget_is_refused_and_says_what_remains(app_with, clock, partners, db_engine):
    from signals_support import Reporting

    # Partners register through the first app's CLI, on the same database.
    reporting = Reporting(app_with(SIGNALS_BUDGET_PER_QUARTER=1.5).test_client(), partners, clock)
    first, second = monday(clock.now), monday(clock.now) + dt.timedelta(days=7)  # both in 2026-Q4
    reporting.spread("n1", "dv_mask19", 5)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(second)
    assert reporting.counts(token, first)["charged"] == 1.0
    refused = reporting.counts(token, second, expect=403)
    assert refused["message"] == "The privacy budget of 2026-Q4 is spent: 0.5 of 1.5 remaining, and opening this week needs 1."
    assert refused["errors"] == {"budget": {"quarter": "2026-Q4", "budget": 1.5, "remaining": 0.5, "needed": 1.0}}
    assert reporting.counts(token, first)["charged"] == 0.0  # what was opened stays readable
    with db_engine.connect() as connection:
        assert connection.execute(select(BudgetSpend.week)).scalars().all() == [first]


def test_releases_and_openings_are_in_the_audit_trail(app, client, reporting, clock, db_engine):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    reporting.counts(token, week)
    reporting.counts(token, week)
    with db_engine.connect() as connection:
        entries = connection.execute(select(AuditEntry).order_by(AuditEntry.seq)).all()
        verification = audit_log.verify(connection, _state(app).retention.public_key, period=dt.timedelta(days=730), now=clock.now)
    released = [e for e in entries if e.kind == "signals.released"]
    opened = [e for e in entries if e.kind == "signals.opened"]
    assert sorted(json.loads(e.detail)["municipality"] for e in released) == ["north", "south"]
    assert len(opened) == 1  # the second read spent nothing and discloses nothing new
    detail = json.loads(opened[0].detail)
    release_ids = {str(r.id) for r in _rows(db_engine, Release, Release.municipality == "north")}
    assert set(detail["release_ids"]) == release_ids and detail["epsilon"] == 1.0 and detail["week"] == label(week)
    assert detail["cells"] == len(Grid("north", {"n1": "a", "n2": "a", "n3": "b"}, _phenomena(app)).keys())
    assert opened[0].actor.startswith("credential:")
    assert verification.valid


def _phenomena(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {code: c.phenomenon for code, c in _state(app).intake.taxonomy.categories.items()}


# --- contribution bounding and small cells, against an attacker without noise ------------------------

def test_one_prolific_reporter_counts_at_most_the_cap(precise, partners, clock):
    from signals_support import Reporting

    reporting = Reporting(precise.test_client(), partners, clock)
    week = monday(clock.now)
    reporting.report("n1", "dv_mask19", 40, pharmacy=0)  # one pharmacy, forty reports
    for number in (1, 2, 3):
        reporting.report("n1", "dv_mask19", 1, pharmacy=number)
    reporting.spread("n2", "dv_mask19", 6)  # neighbours above k: no complement needed in n1
    reporting.spread("n3", "dv_mask19", 7)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    cells = {(c["area"], c["category"]): c for c in reporting.counts(token, week)["cells"]}
    assert cells[("n1", "dv_mask19")]["value"] == 2 + 3  # the cap (2) plus one each


def test_a_cell_of_k_minus_1_reports_shows_no_value(precise, partners, clock):
    """Under k the cell says below_k and nothing more. Its protected value can be worked out from
    the totals (they add up), and that is all it gives: here the noise is negligible by setting
    (epsilon 1000), the worst case; tests/service/signals/test_attacks.py attacks real settings."""
    from signals_support import Reporting

    reporting = Reporting(precise.test_client(), partners, clock)
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 4)  # k - 1
    for area, category, n in (("n2", "dv_mask19", 9), ("n3", "dv_mask19", 11), ("n1", "housing_need", 12)):
        reporting.spread(area, category, n)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    cells = {(c["area"], c["category"]): c for c in reporting.counts(token, week)["cells"]}
    secret = cells[("n1", "dv_mask19")]
    assert secret["status"] == "below_k" and secret["value"] is secret["low"] is secret["high"] is None
    assert cells[("n3", "dv_mask19")]["value"] == 11  # no noise to speak of: exact values
    assert cells[("n3", "dv_mask19")]["low"] == cells[("n3", "dv_mask19")]["high"] == 11
    district = {c["category"]: c for c in reporting.counts(token, week, "district")["cells"] if c["district"] == "n-centre"}
    assert district["dv_mask19"]["value"] == 4 + 9  # the total adds up: it includes the protected 4
    assert {c["status"] for c in cells.values()} == {"shown", "below_k"}


# --- signals -------------------------------------------------------------------------------------------

def _released_weeks(app, reporting, clock, weekly: list[int]) -> list[dt.date]:  # type: ignore[no-untyped-def]
    """One week per count: that many dv_mask19 reports in n1, steady neighbours, the week released
    as the scheduler would; the weeks' Mondays, in order."""
    from service.signals.domain import signals_job

    weeks = []
    for count in weekly:
        weeks.append(monday(clock.now))
        for pharmacy in range(0, count, 2):  # two reports per pharmacy: within the cap
            reporting.report("n1", "dv_mask19", min(2, count - pharmacy), pharmacy=pharmacy)
        # Neighbours above k in both districts: otherwise n1 would be a complement (n1 = n-centre - n2).
        reporting.spread("n2", "dv_mask19", 6)
        reporting.spread("n3", "dv_mask19", 6)
        signals_job(_state(app))  # what the scheduler does every hour
        clock.advance(days=7)
    return weeks


def test_alerts_flag_a_rise_over_the_baseline_from_protected_values(app_with, partners, clock):
    from signals_support import Reporting

    # Little noise (epsilon 50, cap 2: sd 0.35), so the verdicts are known in advance.
    app = app_with(SIGNALS_EPSILON_PER_RELEASE=50, SIGNALS_BUDGET_PER_QUARTER=1000)
    reporting = Reporting(app.test_client(), partners, clock)

    weekly = [20, 22, 19, 21, 20, 23, 21, 20, 22, 60]  # ten weeks; the last one rises
    weeks = _released_weeks(app, reporting, clock, weekly)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(weeks[-1])
    response = reporting.client.get(f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area&taxonomy=category", headers=bearer(token))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["baseline_weeks"] == [label(w) for w in weeks[:7]] and body["guard_weeks"] == [label(w) for w in weeks[7:9]]
    verdicts = {(c["area"], c["category"]): c for c in body["cells"]}
    rise = verdicts[("n1", "dv_mask19")]
    assert rise["flagged"] is True
    assert rise["reason"] == "flagged" and body["flagged"] == 1
    assert rise["observed"] == pytest.approx(60, abs=2) and rise["expected"] == pytest.approx(sum(weekly[:7]) / 7, abs=1)
    assert rise["rise"] == pytest.approx(60 - sum(weekly[:7]) / 7, abs=3)
    steady = verdicts[("n3", "dv_mask19")]
    assert steady["flagged"] is False and steady["reason"] == "within_baseline"
    assert verdicts[("n2", "housing_need")]["reason"] == "not_shown"
    # The tested and baseline weeks were opened and charged once each, in their own quarter;
    # the guard weeks, which C2 does not read, were not.
    quarters = reporting.client.get("/v1/signals/budget", headers=bearer(token)).get_json()["quarters"]
    opened = sorted(w for q in quarters for w in q["weeks_opened"])
    assert opened == sorted(label(w) for w in weeks[:7] + weeks[9:])
    assert body["charged"] == sum(q["spent"] for q in quarters) == pytest.approx(8 * 50)
    again = reporting.client.get(f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area&taxonomy=category", headers=bearer(token))
    assert again.get_json()["cells"] == body["cells"] and again.get_json()["charged"] == 0.0  # read, not opened


def test_alerts_name_only_the_baseline_weeks_they_read(app_with, partners, clock):
    """A baseline reaching back before the deployment's first week names the weeks it read, not the
    ones that were never released (the demo's answer listed one, and README's charged differed)."""
    from signals_support import Reporting

    app = app_with(SIGNALS_EPSILON_PER_RELEASE=50, SIGNALS_BUDGET_PER_QUARTER=1000)
    reporting = Reporting(app.test_client(), partners, clock)

    weekly = [20, 22, 19, 21, 20, 23, 21, 60]  # eight weeks: the baseline of the last wants two more
    weeks = _released_weeks(app, reporting, clock, weekly)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(weeks[-1])
    response = reporting.client.get(f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area&taxonomy=category", headers=bearer(token))
    body = response.get_json()
    assert response.status_code == 200, body
    # The deployment's first week is the one before the first organisation was created (a report
    # may be observed up to the intake window before it is received): released, empty.
    first = weeks[0] - dt.timedelta(days=7)
    assert body["baseline_weeks"] == [label(w) for w in [first, *weeks[:5]]] and body["guard_weeks"] == [label(w) for w in weeks[5:7]]
    assert body["charged"] == pytest.approx(7 * 50)  # the tested week and the six baseline weeks read
    rise = {(c["area"], c["category"]): c for c in body["cells"]}[("n1", "dv_mask19")]
    assert rise["reason"] == "flagged" and rise["expected"] == pytest.approx(sum(weekly[:5]) / 6, abs=1)

    # Asking again reads: the weeks that can never be released do not send it to the write path.
    from sqlalchemy import event

    locks: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FOR UPDATE" in statement.upper() or statement.strip().upper().startswith(("BEGIN IMMEDIATE", "INSERT", "UPDATE")):
            locks.append(statement)

    engine = app.extensions["safesignal"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        again = reporting.client.get(f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo=area&taxonomy=category", headers=bearer(token))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again.get_json() == {**body, "charged": 0.0} and locks == []


def _alerts_by_plain_reading(engine, week: dt.date, geo: str, taxonomy: str, ears):  # type: ignore[no-untyped-def]
    """The cells alerts must answer, by plain means: every cell's series of protected values read
    from the stored releases one cell at a time (the tested week as published), and c2 on it."""
    from sqlalchemy.orm import Session

    from service.signals.ears import c2
    from service.signals.protection import decode_part
    from service.signals.services import rows

    length = 1 + ears.guard + ears.baseline
    weeks = [week - dt.timedelta(weeks=length - 1 - i) for i in range(length)]
    series: dict[tuple, list] = {}
    with Session(engine) as session:
        releases = session.scalars(select(Release)).all()
        for position, past in enumerate(weeks[: ears.baseline]):
            for release in (r for r in releases if r.week == past):
                params = json.loads(release.params)
                for cell in decode_part(release.cells, geo, taxonomy, protected=True):
                    code, tax = cell.geo_code, cell.tax_code
                    key = (release.municipality, params["districts"][code] if geo == "area" else code if geo == "district" else None,
                           code if geo == "area" else None, params["phenomena"][tax] if taxonomy == "category" else tax,
                           tax if taxonomy == "category" else None)
                    series.setdefault(key, [None] * length)[position] = cell.value
        tested = rows(sorted((r for r in releases if r.week == week), key=lambda r: r.municipality), geo, taxonomy)
    cells = []
    for row in tested:
        key = (row.municipality, row.district, row.area, row.phenomenon, row.category)
        verdict = c2([*series.get(key, [None] * length)[:-1], row.value], ears, noise_sd=row.sd)
        figures = [None if v is None else round(v, 3) for v in (verdict.expected, verdict.sd, verdict.rise, verdict.statistic)]
        cells.append(dict(zip(WEEK_FIELDS, key), observed=verdict.observed, **dict(zip(("expected", "sd", "rise", "statistic"), figures)),
                          flagged=verdict.flagged, reason=verdict.reason))
    return cells


def test_alerts_are_c2_on_every_cells_stored_protected_values_across_a_changed_grid(app_with, partners, clock, tmp_path):
    """Alerts read the releases column by column, and through a cache; what they answer must be
    c2 on each cell's protected values read one by one, for every part, across both municipalities,
    and across weeks released before and after an area moved district (its cells' keys changed)."""
    import random

    import signals_support
    from signals_support import AREAS, Reporting, area_file

    from service.signals.domain import signals_job

    settings = {"SIGNALS_EPSILON_PER_RELEASE": 10, "SIGNALS_BUDGET_PER_QUARTER": 1000}  # area cells' sd about 1.4
    app = app_with(**settings)
    reporting = Reporting(app.test_client(), partners, clock)
    token = reporting.analyst("north", "south")
    moved = [(code, town, "n-centre" if code == "n3" else district, corner) for code, town, district, corner in AREAS]
    signals_support.AREAS, saved = moved, signals_support.AREAS
    try:
        changed = app_with(**settings, AREAS_FILE=str(area_file(tmp_path / "moved.geojson")))
    finally:
        signals_support.AREAS = saved
    rng = random.Random(12)
    weeks = []
    for index in range(10):
        # The job releases a week 8 days after it ends: the first app the first five weeks, then
        # n3 is in n-centre.
        current = app if index < 7 else changed
        now = Reporting(current.test_client(), partners, clock)
        weeks.append(monday(clock.now))
        for area in ("n2", "s1", "s2"):
            now.spread(area, rng.choice(["dv_mask19", "housing_need"]), rng.randint(2, 9))
        now.spread("n3", "housing_need", rng.randint(15, 20))
        now.spread("n1", "dv_mask19", 30 if index == 9 else rng.randint(8, 12))
        signals_job(current.extensions["safesignal"])
        clock.advance(days=7)
    clock.now = reporting.release_time(weeks[-1])
    reader = changed.test_client()
    ears = changed.extensions["safesignal"].signals.rules.ears
    seen = set()
    for geo, taxonomy in (("area", "category"), ("district", "category"), ("municipality", "phenomenon"), ("area", "phenomenon")):
        path = f"/v1/signals/weeks/{label(weeks[-1])}/alerts?geo={geo}&taxonomy={taxonomy}"
        first = reader.get(path, headers=bearer(token))  # opens the weeks
        again = reader.get(path, headers=bearer(token))  # reads them again, from the cache
        assert first.status_code == again.status_code == 200, first.get_json()
        expected = _alerts_by_plain_reading(changed.extensions["safesignal"].engine, weeks[-1], geo, taxonomy, ears)
        assert first.get_json()["cells"] == again.get_json()["cells"] == expected
        assert first.get_json()["flagged"] == sum(c["flagged"] for c in expected)
        counts = reader.get(f"/v1/signals/weeks/{label(weeks[-1])}/counts?geo={geo}&taxonomy={taxonomy}", headers=bearer(token))
        assert [[c[f] for f in WEEK_FIELDS] for c in first.get_json()["cells"]] == [[c[f] for f in WEEK_FIELDS] for c in counts.get_json()["cells"]]
        seen |= {c["reason"] for c in expected}
    # Every branch was compared, and n3's cells, whose keys changed, read fewer baseline weeks.
    assert seen == {"flagged", "within_baseline", "not_shown", "short_baseline"}
    n3 = {c["category"]: c for c in _alerts_by_plain_reading(changed.extensions["safesignal"].engine, weeks[-1], "area", "category", ears)
          if c["area"] == "n3"}
    assert n3["housing_need"]["reason"] == "short_baseline"


# --- what changes later must not reopen ----------------------------------------------------------------

def test_a_growing_territory_records_and_audits_what_it_adds_at_no_extra_cost(app, client, reporting, clock, db_engine, partners):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    assert reporting.counts(token, week, geo="municipality")["charged"] == 1.0
    partners.run("signals", "territory", reporting.organisations["Preventiedienst"], "north", "south")
    body = reporting.counts(token, week, geo="municipality")
    assert {c["municipality"] for c in body["cells"]} == {"north", "south"}
    assert body["charged"] == 0.0  # municipalities are disjoint: the week costs one release's epsilon
    with db_engine.connect() as connection:
        kinds = [(e.kind, json.loads(e.detail)) for e in connection.execute(select(AuditEntry).order_by(AuditEntry.seq))]
    south = {str(r.id) for r in _rows(db_engine, Release, Release.municipality == "south")}
    opened = [detail for kind, detail in kinds if kind == "signals.opened"]
    assert len(opened) == 2 and set(opened[1]["release_ids"]) == south and opened[1]["epsilon"] == 0.0
    assert [d["municipalities"] for k, d in kinds if k == "signals.territory"] == [["north"], ["north", "south"]]


def test_a_changed_area_file_never_releases_a_week_twice(app, app_with, reporting, clock, tmp_path):
    """n3 moves from north to a new municipality, east. The week already released for north
    (n3 included) is not released again for east: fresh noise on the same counts could be averaged."""
    from signals_support import AREAS, Reporting, area_file

    week = monday(clock.now)
    reporting.spread("n3", "dv_mask19", 7)
    north = reporting.analyst("north", name="Noord")
    clock.now = reporting.release_time(week)
    before = reporting.counts(north, week)["cells"]

    moved = [(code, "east" if code == "n3" else town, district, corner) for code, town, district, corner in AREAS]
    import signals_support

    signals_support.AREAS, saved = moved, signals_support.AREAS
    try:
        changed = app_with(AREAS_FILE=str(area_file(tmp_path / "moved.geojson")))
    finally:
        signals_support.AREAS = saved
    assert set(changed.extensions["safesignal"].signals.grids) == {"north", "south", "east"}
    later = Reporting(changed.test_client(), reporting.partners, clock)
    # The first app's CLI does not know east: register the analyst through the changed app.
    with changed.app_context():
        from service import per_request
        from service.partners.services import OrganisationKind, add_organisation, issue_credential
        from service.signals.services import set_territory

        session = per_request.session()
        organisation = add_organisation(session, kind=OrganisationKind.PREVENTION_SERVICE, name="Oost", area=None, now=clock.now)
        set_territory(session, changed.extensions["safesignal"].signals, organisation, ["east"], changed.extensions["safesignal"].audit, "test")
        _, east = issue_credential(session, organisation, label="t", now=clock.now)
        session.commit()
    refused = later.counts(east, week, expect=404)
    assert "cannot be released" in refused["message"]
    assert later.counts(north, week)["cells"] == before  # the released week stands as it was


def test_concurrent_first_openings_never_overspend(app_with, partners, clock, db_engine):
    from signals_support import Reporting

    app = app_with(SIGNALS_BUDGET_PER_QUARTER=1.0)
    reporting = Reporting(app.test_client(), partners, clock)
    weeks = [monday(clock.now) + dt.timedelta(days=7 * i) for i in range(3)]  # all in 2026-Q4
    for week in weeks:
        clock.now = dt.datetime.combine(week, dt.time(12), tzinfo=dt.timezone.utc)
        reporting.spread("n1", "dv_mask19", 1)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(weeks[-1])
    statuses: list[int] = []

    def open_week(week: dt.date) -> None:
        response = app.test_client().get(f"/v1/signals/weeks/{label(week)}/counts", headers=bearer(token))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=open_week, args=(weeks[i % 3],)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with db_engine.connect() as connection:
        spent = connection.execute(select(BudgetSpend.week, BudgetSpend.epsilon)).all()
    assert len(spent) == 1 and spent[0].epsilon == 1.0  # one week opened, within the budget
    assert statuses.count(200) == 3 and statuses.count(403) == 6  # its three readers; the rest refused


def test_csv_never_hands_a_spreadsheet_a_formula(app_with, partners, clock, tmp_path):
    """District names come from the operator's area file as free text; one starting with = must
    not become a formula in the analyst's spreadsheet."""
    import signals_support
    from signals_support import Reporting, area_file

    hostile = [(code, town, "=HYPERLINK(\"http://x\")" if district == "n-harbour" else district, corner)
               for code, town, district, corner in signals_support.AREAS]
    signals_support.AREAS, saved = hostile, signals_support.AREAS
    try:
        app = app_with(AREAS_FILE=str(area_file(tmp_path / "hostile.geojson")))
    finally:
        signals_support.AREAS = saved
    reporting = Reporting(app.test_client(), partners, clock)
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    response = reporting.client.get(f"/v1/signals/weeks/{label(week)}/counts?geo=district&format=csv", headers=bearer(token))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {row["district"] for row in rows} == {"n-centre", "'=HYPERLINK(\"http://x\")"}
