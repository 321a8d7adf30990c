"""The signals' data classes under retention, and the settings the service refuses."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from signals_support import app_config, monday, reporting  # noqa: F401 - fixtures
from sqlalchemy import func, select

from retention.policy import DEFAULT_POLICY_FILE
from service import create_app
from service.config import ConfigError
from service.signals.models import BudgetSpend, Release, Tally


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_tallies_go_35_days_after_their_monday_and_releases_stay(app, reporting, clock, db_engine):
    week = monday(clock.now)
    reporting.spread("n1", "dv_mask19", 6)
    token = reporting.analyst("north")
    clock.now = reporting.release_time(week)
    reporting.counts(token, week)
    retention = app.extensions["safesignal"].retention
    start = dt.datetime.combine(week, dt.time(), tzinfo=dt.timezone.utc)

    clock.now = start + dt.timedelta(days=35)
    retention.run()
    assert _count(db_engine, Tally) == 6  # exactly at the period: kept
    clock.now += dt.timedelta(microseconds=1)
    retention.run()
    assert _count(db_engine, Tally) == 0
    assert _count(db_engine, Release) == 2 and _count(db_engine, BudgetSpend) == 1
    # What was released stays readable without its tallies.
    assert reporting.counts(token, week)["charged"] == 0.0

    clock.now = start + dt.timedelta(days=730, microseconds=1)
    retention.run()
    assert _count(db_engine, Release) == 0 and _count(db_engine, BudgetSpend) == 1  # the ledger outlives its quarter
    clock.now = start + dt.timedelta(days=830, microseconds=1)
    retention.run()
    assert _count(db_engine, BudgetSpend) == 0


def _policy(tmp_path, name: str, days: int):  # type: ignore[no-untyped-def]
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    start = text.index(f"[data_classes.{name}]")
    section = text[start:text.find("\n[", start + 1)]
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(section, re.sub(r"period_days = \d+", f"period_days = {days}", section)), encoding="utf-8")
    return str(path)


def test_tallies_must_outlast_their_week_and_the_release_delay(app_config, tmp_path):
    with pytest.raises(ConfigError, match="signal_tallies: period_days must exceed 7 \\+ SAFESIGNAL_SIGNALS_RELEASE_DELAY_DAYS"):
        create_app({**app_config, "RETENTION_POLICY_FILE": _policy(tmp_path, "signal_tallies", 15)})
    create_app({**app_config, "RETENTION_POLICY_FILE": _policy(tmp_path, "signal_tallies", 16)}).extensions["safesignal"].engine.dispose()


def test_the_ledger_must_outlast_the_releases_of_its_whole_quarter(app_config, tmp_path):
    with pytest.raises(ConfigError, match="privacy_budget_ledger: period_days must exceed that of signal_releases by a quarter"):
        create_app({**app_config, "RETENTION_POLICY_FILE": _policy(tmp_path, "privacy_budget_ledger", 730 + 97)})
    create_app({**app_config, "RETENTION_POLICY_FILE": _policy(tmp_path, "privacy_budget_ledger", 730 + 98)}).extensions["safesignal"].engine.dispose()


@pytest.mark.parametrize(("settings", "message"), [
    ({"SIGNALS_RELEASE_DELAY_DAYS": 7}, "SIGNALS_RELEASE_DELAY_DAYS must outlast the intake window"),
    ({"SIGNALS_K": 0}, "SIGNALS_K must be a positive integer"),
    ({"SIGNALS_CONTRIBUTION_CAP": 0}, "SIGNALS_CONTRIBUTION_CAP must be a positive integer"),
    ({"SIGNALS_EPSILON_PER_RELEASE": 0}, "SIGNALS_EPSILON_PER_RELEASE must be a number above 0"),
    ({"SIGNALS_BUDGET_PER_QUARTER": "lots"}, "SIGNALS_BUDGET_PER_QUARTER must be a number above 0"),
])
def test_signal_settings_that_cannot_work_are_refused(app_config, settings, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**app_config, **settings})
