"""Retention as separate processes: killed mid-purge, two at once, and the scheduler catching up.

These start the real `safesignal` command on the test's databases. The data is made expired by
the real clock (60 days old), since another process cannot share the test's frozen clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from sqlalchemy import func, insert, select, text

from crypto.envelope import associated_data, encrypt
from service.vault.models import DataKeyRecord
from service.reports.models import Report

ROWS = 60_000
EPOCHS = 3


def _env(app_config: dict[str, object], **extra: object) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAFESIGNAL_")}
    for key in ("DATABASE_URL", "KEYS_DATABASE_URL", "KEK", "PSEUDONYM_KEY", "AUDIT_SIGNING_KEY", "AUDIT_MAC_KEY"):
        env[f"SAFESIGNAL_{key}"] = str(app_config[key])
    env["SAFESIGNAL_LOG_LEVEL"] = "WARNING"
    env.update({f"SAFESIGNAL_{key}": str(value) for key, value in extra.items()})
    return env


def _safesignal(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "from service.cli import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _fill_expired(app) -> list[dt.date]:  # type: ignore[no-untyped-def]
    """ROWS pharmacy reports spread over EPOCHS days, 60 days ago by the real clock, with real keys."""
    state = app.extensions["safesignal"]
    _now(app)
    today = dt.datetime.now(dt.timezone.utc).date()
    epochs = [today - dt.timedelta(days=60 + i) for i in range(EPOCHS)]
    rows = []
    for epoch in epochs:
        key = state.intake.keyring.key_for_epoch(state.intake.keystore, "pharmacy_reports", epoch)
        hour = dt.datetime.combine(epoch, dt.time(10), tzinfo=dt.timezone.utc)
        for _ in range(ROWS // EPOCHS):
            report_id = uuid.uuid4()
            rows.append({
                "id": report_id, "data_class": "pharmacy_reports", "channel": "pharmacy", "category": "dv_mask19",
                "area": "a", "observed_hour": hour, "received_hour": hour, "epoch": epoch, "reporter": bytes(16),
                "payload": encrypt(key, b"{}", associated_data(Report.__tablename__, report_id.bytes)),
            })
    with state.engine.begin() as connection:
        connection.execute(insert(Report), rows)
    return epochs


def _reports(app) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Report)).scalar_one()


def _purged_rows(app) -> list[int]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].engine.connect() as connection:
        details = connection.execute(text("SELECT detail FROM audit_entry WHERE kind = 'retention.purged' ORDER BY seq")).scalars()
        return [d["rows"] for d in map(json.loads, details) if d["data_class"] == "pharmacy_reports"]


def _now(app) -> None:  # type: ignore[no-untyped-def]
    """Move the test's clock to the real time the other processes live in (entries' times in
    the audit log never go backwards)."""
    app.config["CLOCK"].now = dt.datetime.now(dt.timezone.utc)


def _chain_is_valid(app) -> bool:  # type: ignore[no-untyped-def]
    _now(app)
    result = app.extensions["safesignal"].retention.verify_audit()
    assert result.valid, result.problems
    return result.valid


def _run_until_not_skipped(app):  # type: ignore[no-untyped-def]
    # A killed process's advisory lock goes when PostgreSQL notices the closed connection.
    for _ in range(50):
        _now(app)
        outcome = app.extensions["safesignal"].retention.run(actor="cli")
        if not outcome.skipped:
            return outcome
        time.sleep(0.1)
    raise AssertionError("the lease of the killed process was never released")


def test_a_purge_killed_midway_completes_on_the_next_run(app, app_config):
    epochs = _fill_expired(app)
    process = _safesignal(_env(app_config, RETENTION_BATCH_SIZE=200), "retention", "run")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = _reports(app)
        if 0 < left < ROWS - 1000:
            break
        if process.poll() is not None:
            process.communicate()
            raise AssertionError("the purge finished before it could be killed; make ROWS larger")
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    left = _reports(app)
    assert 0 < left < ROWS
    # Shred first: every expired key was destroyed before the first row was deleted.
    state = app.extensions["safesignal"]
    with state.keys_engine.connect() as connection:
        keys = connection.execute(select(DataKeyRecord.epoch, DataKeyRecord.destroyed_at)).all()
    assert sorted(epoch for epoch, _ in keys) == sorted(epochs) and all(destroyed for _, destroyed in keys)

    outcome = _run_until_not_skipped(app)
    (reports,) = [c for c in outcome.classes if c.data_class == "pharmacy_reports"]
    assert reports.rows == left and reports.outcome == "ok"
    assert _reports(app) == 0
    assert _chain_is_valid(app)
    assert state.intake.keystore.unlogged_destructions() == []


def _destroyed_keys_logged(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].engine.connect() as connection:
        destroyed = connection.execute(text("SELECT detail FROM audit_entry WHERE kind = 'keys.destroyed'")).scalars()
        return [key for detail in destroyed for key in json.loads(detail)["key_ids"]]


def test_two_retention_processes_at_once_purge_once(app, app_config):
    _fill_expired(app)
    env = _env(app_config, RETENTION_BATCH_SIZE=500)
    processes = [_safesignal(env, "retention", "run", "--json") for _ in range(2)]
    outcomes = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outcomes.append(json.loads(stdout))
    assert _reports(app) == 0
    # One run did all the work (the other was skipped by the lease, or came after and found
    # nothing); without the lease both would delete side by side and both record rows.
    assert [rows for rows in _purged_rows(app) if rows] == [ROWS]
    assert len([o for o in outcomes if o["skipped"]]) <= 1
    assert _chain_is_valid(app)
    logged = _destroyed_keys_logged(app)
    assert len(logged) == len(set(logged)) == EPOCHS


def test_two_schedulers_started_by_mistake_purge_once(app, app_config):
    _fill_expired(app)
    env = _env(app_config, RETENTION_BATCH_SIZE=500)
    processes = [_safesignal(env, "scheduler") for _ in range(2)]
    deadline = time.monotonic() + 90
    try:
        # Both run retention at start; wait until the run that worked has reached the last class.
        while time.monotonic() < deadline:
            with app.extensions["safesignal"].engine.connect() as connection:
                done = connection.execute(text(
                    "SELECT count(*) FROM audit_entry WHERE kind = 'retention.purged' AND detail LIKE '%\"leases\"%'"
                )).scalar_one()
            if done:
                break
            time.sleep(0.05)
        time.sleep(1)  # the other scheduler's start-up run, skipped or finding nothing
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            _, stderr = process.communicate(timeout=30)
            assert process.returncode == 0, stderr
    assert _reports(app) == 0
    assert [rows for rows in _purged_rows(app) if rows] == [ROWS]
    assert _chain_is_valid(app)
    logged = _destroyed_keys_logged(app)
    assert len(logged) == len(set(logged)) == EPOCHS


def test_the_scheduler_catches_up_at_start_and_stops_cleanly(app, app_config):
    _fill_expired(app)
    process = _safesignal(_env(app_config), "scheduler")
    deadline = time.monotonic() + 60
    while _reports(app) and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        time.sleep(0.05)
    assert _reports(app) == 0
    # Wait for the run's closing checkpoint, then stop it as a service manager would.
    while time.monotonic() < deadline:
        with app.extensions["safesignal"].engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM audit_checkpoint")).scalar_one():
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    with app.extensions["safesignal"].engine.connect() as connection:
        actors = set(connection.execute(text("SELECT actor FROM audit_entry WHERE kind = 'retention.purged'")).scalars())
    assert actors == {"scheduler"}
    assert _chain_is_valid(app)
