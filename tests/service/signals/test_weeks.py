"""Weeks are ISO weeks of local time in the deployment's zone (Europe/Brussels by default): the week
a report counts in, when a week starts, ends and is released, at both daylight-saving changes of
2026 and around Monday midnight, and with another zone configured."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from support import bearer
from signals_support import BRUSSELS, Reporting, app_config, label, monday, reporting  # noqa: F401 - fixtures
from sqlalchemy import func, select

from service import create_app
from service.config import ConfigError
from service.signals.models import Tally
from service.signals.weeks import UnknownTimeZone, WeekCalendar

UTC = dt.timezone.utc
CALENDAR = WeekCalendar.named("Europe/Brussels")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --- the week of a moment -----------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "week"), [
    # Around Monday midnight in summer (CEST, UTC+2) and in winter (CET, UTC+1).
    (utc(2026, 6, 14, 21, 30), dt.date(2026, 6, 8)),  # Sunday 23:30 local: still the old week
    (utc(2026, 6, 14, 21, 59, 59, 999999), dt.date(2026, 6, 8)),
    (utc(2026, 6, 14, 22, 0), dt.date(2026, 6, 15)),  # Monday 00:00 local: the new week
    (utc(2026, 6, 14, 22, 30), dt.date(2026, 6, 15)),  # Sunday 22:30 UTC = Monday 00:30 local
    (utc(2026, 6, 14, 23, 30), dt.date(2026, 6, 15)),  # Sunday 23:30 UTC = Monday 01:30 local
    (utc(2026, 11, 29, 22, 30), dt.date(2026, 11, 23)),  # Sunday 23:30 local
    (utc(2026, 11, 29, 22, 59, 59, 999999), dt.date(2026, 11, 23)),
    (utc(2026, 11, 29, 23, 0), dt.date(2026, 11, 30)),  # Monday 00:00 local
    (utc(2026, 11, 29, 23, 30), dt.date(2026, 11, 30)),  # Sunday 23:30 UTC = Monday 00:30 local
    # 29 March 2026, 02:00 CET -> 03:00 CEST (01:00 UTC), a Sunday: the change stays inside its week.
    (utc(2026, 3, 29, 0, 59, 59, 999999), dt.date(2026, 3, 23)),  # 01:59:59 CET
    (utc(2026, 3, 29, 1, 0), dt.date(2026, 3, 23)),  # 03:00 CEST
    (utc(2026, 3, 29, 21, 59, 59, 999999), dt.date(2026, 3, 23)),  # Sunday 23:59:59 CEST
    (utc(2026, 3, 29, 22, 0), dt.date(2026, 3, 30)),  # Monday 00:00 CEST
    (utc(2026, 3, 22, 22, 59, 59, 999999), dt.date(2026, 3, 16)),  # the week began in winter time
    (utc(2026, 3, 22, 23, 0), dt.date(2026, 3, 23)),
    # 25 October 2026, 03:00 CEST -> 02:00 CET (01:00 UTC): the hour 02:00-03:00 happens twice.
    (utc(2026, 10, 25, 0, 30), dt.date(2026, 10, 19)),  # 02:30 CEST, the first time
    (utc(2026, 10, 25, 1, 30), dt.date(2026, 10, 19)),  # 02:30 CET, the second time
    (utc(2026, 10, 25, 22, 59, 59, 999999), dt.date(2026, 10, 19)),  # Sunday 23:59:59 CET
    (utc(2026, 10, 25, 23, 0), dt.date(2026, 10, 26)),  # Monday 00:00 CET
    (utc(2026, 10, 18, 21, 59, 59, 999999), dt.date(2026, 10, 12)),  # the week began in summer time
    (utc(2026, 10, 18, 22, 0), dt.date(2026, 10, 19)),
])
def test_a_moment_counts_in_the_local_iso_week_holding_it(moment, week):
    assert CALENDAR.week_of(moment) == week
    assert CALENDAR.week_of(moment.astimezone(BRUSSELS)) == week  # whatever zone the moment is given in


@pytest.mark.parametrize(("week", "start", "end", "hours"), [
    (dt.date(2026, 3, 23), utc(2026, 3, 22, 23), utc(2026, 3, 29, 22), 167),  # spring: an hour short
    (dt.date(2026, 10, 19), utc(2026, 10, 18, 22), utc(2026, 10, 25, 23), 169),  # autumn: an hour long
    (dt.date(2026, 6, 15), utc(2026, 6, 14, 22), utc(2026, 6, 21, 22), 168),
    (dt.date(2026, 11, 30), utc(2026, 11, 29, 23), utc(2026, 12, 6, 23), 168),
])
def test_a_week_runs_from_local_monday_midnight_to_the_next(week, start, end, hours):
    assert CALENDAR.start(week) == start and CALENDAR.end(week) == end
    assert CALENDAR.start(week).utcoffset() == dt.timedelta(0)  # UTC: arithmetic on it is elapsed time
    assert CALENDAR.end(week) - CALENDAR.start(week) == dt.timedelta(hours=hours)
    assert CALENDAR.start(week).astimezone(BRUSSELS).time() == dt.time(0)
    assert CALENDAR.end(week) == CALENDAR.start(week + dt.timedelta(days=7))


@pytest.mark.parametrize(("zone", "year"), [
    ("Europe/Brussels", 2026), ("UTC", 2026), ("America/New_York", 2026), ("Asia/Kolkata", 2026),
    ("Pacific/Chatham", 2026), ("America/Havana", 2026), ("Australia/Lord_Howe", 2026),
    ("America/Sao_Paulo", 1997),  # Monday 6 October 1997 began at 01:00: 00:00 never happened
    ("Antarctica/Vostok", 2023),  # Monday 18 December 2023, 00:00 to 02:00 happened twice
])
def test_every_moment_of_a_year_lies_in_its_week_and_weeks_tile_the_year(zone, year):
    """Zones behind and ahead of UTC, with half-hour and 45-minute offsets, changes at midnight
    (Havana on a Sunday; Sao Paulo and Vostok on a Monday) and a half-hour change (Lord Howe): the
    week of every half-hour of the year is a Monday whose start and end bracket it, and weeks
    follow each other without gap or overlap."""
    calendar = WeekCalendar.named(zone)
    moment, last = utc(year, 1, 1), None
    while moment < utc(year + 1, 1, 1):
        week = calendar.week_of(moment)
        assert week.weekday() == 0 and calendar.start(week) <= moment < calendar.end(week), moment
        assert last is None or week in (last, last + dt.timedelta(days=7)), moment
        moment, last = moment + dt.timedelta(minutes=30), week


def test_a_time_zone_is_named_as_iana_names_it():
    assert WeekCalendar.named("Europe/Brussels") == WeekCalendar(ZoneInfo("Europe/Brussels"))
    for name in ("Europe/Bruxelles", "europe/brussels", "", "Europe", "../etc/passwd", "/etc/localtime", 1, None):
        with pytest.raises(UnknownTimeZone):
            WeekCalendar.named(name)


# --- the setting ----------------------------------------------------------------------------------

def test_weeks_follow_europe_brussels_by_default_and_one_calendar_is_shared(app):
    state = app.extensions["safesignal"]
    assert state.weeks == CALENDAR
    # Intake counts tallies in the weeks the signals release: the very same calendar.
    assert state.intake.weeks is state.weeks and state.signals.rules.weeks is state.weeks


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "CEST+2", "", 2])
def test_an_unknown_time_zone_refuses_to_start_and_is_named(app_config, name):
    with pytest.raises(ConfigError) as refused:
        create_app({**app_config, "SIGNALS_TIME_ZONE": name})
    assert str(refused.value) == (
        f"SAFESIGNAL_SIGNALS_TIME_ZONE: {'no time zone named' if isinstance(name, str) else 'not a time zone name:'} "
        f"{name!r} (an IANA name such as Europe/Brussels)"
    )


def test_the_zone_is_read_from_the_environment(app_with, monkeypatch):
    monkeypatch.setenv("SAFESIGNAL_SIGNALS_TIME_ZONE", "America/New_York")
    assert app_with().extensions["safesignal"].weeks.zone == ZoneInfo("America/New_York")


# --- over HTTP ------------------------------------------------------------------------------------

def _tallies(db_engine) -> dict[dt.date, int]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return dict(connection.execute(select(Tally.week, func.sum(Tally.n)).group_by(Tally.week)).all())


def test_a_pharmacy_report_at_monday_0030_in_brussels_counts_in_that_mondays_week(app_with, partners, clock, db_engine):
    # Negligible noise (epsilon 500: scale 0.024), so the released counts are the exact ones;
    # a budget for both weeks.
    reporting = Reporting(app_with(SIGNALS_EPSILON_PER_RELEASE=500, SIGNALS_BUDGET_PER_QUARTER=1000).test_client(),
                          partners, clock)
    sunday, monday_ = dt.date(2026, 11, 23), dt.date(2026, 11, 30)
    for now, n in ((utc(2026, 11, 29, 23, 0), 6), (utc(2026, 11, 30, 0, 0), 7)):
        # Observed half an hour before: Sunday 23:30 in Brussels, then Sunday 23:30 UTC, which is
        # Monday 00:30 in Brussels.
        clock.now = now
        reporting.spread("n1", "dv_mask19", n)
        # Neighbours above k in both districts, or n1 would be suppressed as a complement.
        reporting.spread("n2", "dv_mask19", 5)
        reporting.spread("n3", "dv_mask19", 5)
    assert _tallies(db_engine) == {sunday: 16, monday_: 17}  # in UTC weeks all 33 were the week of the 23rd

    token = reporting.analyst("north")
    clock.now = reporting.release_time(monday_)
    counts = {week: reporting.counts(token, week)["cells"] for week in (sunday, monday_)}
    values = {week: {(c["area"], c["category"]): c["value"] for c in cells} for week, cells in counts.items()}
    assert values[sunday][("n1", "dv_mask19")] == 6 and values[monday_][("n1", "dv_mask19")] == 7


@pytest.mark.parametrize(("moment", "week", "release"), [
    # The weeks holding each change: 167 and 169 hours, released 8 days (192 hours) after they end.
    (utc(2026, 3, 25, 12), dt.date(2026, 3, 23), utc(2026, 4, 6, 22)),  # ends Monday 30 March 00:00 CEST
    (utc(2026, 10, 21, 12), dt.date(2026, 10, 19), utc(2026, 11, 2, 23)),  # ends Monday 26 October 00:00 CET
    # Weeks whose delay holds a change: the delay is elapsed time, so the release is at 01:00
    # CEST (31 March) or 23:00 CET (26 October), never less than 192 hours after the week ends.
    (utc(2026, 3, 18, 12), dt.date(2026, 3, 16), utc(2026, 3, 30, 23)),
    (utc(2026, 10, 14, 12), dt.date(2026, 10, 12), utc(2026, 10, 26, 22)),
])
def test_a_week_holding_a_change_is_released_8_days_after_its_local_end(app, client, reporting, clock, moment, week, release):
    clock.now = moment
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")

    clock.now = release - dt.timedelta(microseconds=1)
    calendar = client.get("/v1/signals/calendar", headers=bearer(token)).get_json()
    assert calendar["time_zone"] == "Europe/Brussels"
    listed = {w["week"]: w for w in calendar["weeks"]}
    assert listed[label(week)] == {"week": label(week), "starts": week.isoformat(), "release_at": release.isoformat(),
                                   "status": "scheduled", "opened": False}
    assert release.isoformat().endswith("+00:00")  # the API's format: UTC, as before
    refused = reporting.counts(token, week, expect=404)
    assert refused["message"] == f"Week {label(week)} is not released yet; it will be at {release.isoformat()} (8 days after it ends)."

    clock.now = release
    assert reporting.counts(token, week)["charged"] == 1.0


@pytest.mark.parametrize(("zone", "gone"), [
    # Local Monday 00:00 is Sunday 22 November 23:00 UTC, an hour before retention's clock starts.
    ("Europe/Brussels", utc(2026, 12, 27, 23)),
    # Local Monday 00:00 is 05:00 UTC, but retention deletes the tallies 35 days from 00:00 UTC
    # (the week is a date): from then on the week must not be taken for releasable.
    ("America/New_York", utc(2026, 12, 28, 0)),
])
def test_a_weeks_tallies_count_as_held_35_days_from_its_start_or_00_utc_if_earlier(app_with, partners, clock, zone, gone):
    client = app_with(SIGNALS_TIME_ZONE=zone).test_client()
    reporting = Reporting(client, partners, clock)
    week = dt.date(2026, 11, 23)
    assert monday(clock.now) == week and WeekCalendar.named(zone).week_of(clock.now) == week
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = gone - dt.timedelta(microseconds=1)
    listed = {w["week"]: w["status"] for w in client.get("/v1/signals/calendar", headers=bearer(token)).get_json()["weeks"]}
    assert listed[label(week)] == "due"
    clock.now = gone
    listed = {w["week"]: w["status"] for w in client.get("/v1/signals/calendar", headers=bearer(token)).get_json()["weeks"]}
    assert label(week) not in listed
    assert "retention deleted its tallies" in reporting.counts(token, week, expect=404)["message"]


@pytest.mark.parametrize(("now", "quarter"), [
    (utc(2026, 10, 4, 21, 30), "2026-Q3"),  # Sunday 23:30 in Brussels: the week of Monday 28 September
    (utc(2026, 10, 4, 22, 30), "2026-Q4"),  # Monday 00:30 in Brussels: the week of Monday 5 October
])
def test_the_current_quarter_is_that_of_the_local_week(app, client, reporting, clock, now, quarter):
    token = reporting.analyst("north")
    clock.now = now
    assert client.get("/v1/signals/budget", headers=bearer(token)).get_json()["quarters"][0]["quarter"] == quarter


def test_another_zone_can_be_configured(app_with, partners, clock, db_engine):
    """With UTC, Sunday 23:30 UTC is still Sunday: the week before, as the service counted before
    weeks became local; released at UTC midnight."""
    application = app_with(SIGNALS_TIME_ZONE="UTC")
    reporting = Reporting(application.test_client(), partners, clock)
    clock.now = utc(2026, 11, 30, 0, 0)
    reporting.spread("n1", "dv_mask19", 6)  # observed Sunday 23:30 UTC
    assert _tallies(db_engine) == {dt.date(2026, 11, 23): 6}
    token = reporting.analyst("north")
    calendar = application.test_client().get("/v1/signals/calendar", headers=bearer(token)).get_json()
    assert calendar["time_zone"] == "UTC"
    listed = {w["week"]: w for w in calendar["weeks"]}
    assert listed["2026-W48"]["release_at"] == "2026-12-08T00:00:00+00:00"
    assert listed["2026-W49"]["release_at"] == "2026-12-15T00:00:00+00:00"
