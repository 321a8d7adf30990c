"""`safesignal scheduler`: the one process that runs the retention, release, export and checkpoint jobs.

APScheduler 3 (the stable line) with a blocking scheduler and an in-memory job store. Catching
up needs no stored schedule: each retention run works from the clock at its start, so the first
run after a restart (it starts at once) does everything the missed runs would have done, and
coalescing turns any backlog into that one run. A second scheduler started by mistake, here or
on another host, is harmless: a run that finds the retention lease held is skipped until its next
interval, and a head is signed only once.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from service.audit import log as audit

log = logging.getLogger(__name__)


def retention_job(state: Any) -> None:
    outcome = state.retention.run(actor="scheduler")
    if outcome.skipped:
        return
    for result in outcome.classes:
        if result.outcome != "ok":
            log.error("retention of %s failed: %s", result.data_class, result.error)
        elif result.rows or result.keys_destroyed:
            log.info("retention of %s: %d rows, %d keys destroyed", result.data_class, result.rows, result.keys_destroyed)


def signals_job(state: Any) -> None:
    """Release the weeks that are due (service.signals.jobs)."""
    from service.signals.jobs import release_due
    from service.signals.release import week_label

    weeks = release_due(state, "scheduler")
    if weeks:
        log.info("signals released: %s", ", ".join(week_label(week) for week in weeks))


def tracing_job(state: Any) -> None:
    """Build the export batches that are due (service.tracing.jobs). Without its signing key
    (production) it says so at every run and leaves the other jobs alone."""
    from service.config import ConfigError
    from service.tracing.jobs import export_due

    try:
        files = export_due(state, "scheduler")
    except ConfigError as error:
        log.error("tracing exports not built: %s", error)
        return
    if files:
        log.info("tracing exports built: %d files", len(files))


def checkpoint_job(state: Any) -> None:
    with state.engine.begin() as connection:
        seq = audit.checkpoint(connection, state.retention.signer, state.clock())
    if seq is not None:
        log.info("audit log checkpoint signed at entry %d", seq)


def build(state: Any, config: Any) -> BlockingScheduler:
    """The scheduler with its four jobs; each runs once at start, then at its interval."""
    scheduler = BlockingScheduler(
        timezone=dt.timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    now = dt.datetime.now(dt.timezone.utc)
    scheduler.add_job(retention_job, IntervalTrigger(minutes=config["RETENTION_INTERVAL_MINUTES"]), args=[state],
                      id="retention", name="retention: shred, delete, anonymise", next_run_time=now)
    # Releases before the checkpoint, so the checkpoint signs their audit entries.
    scheduler.add_job(signals_job, IntervalTrigger(minutes=config["RETENTION_INTERVAL_MINUTES"]), args=[state],
                      id="signals", name="signals: compute the weeks that are due", next_run_time=now)
    scheduler.add_job(tracing_job, IntervalTrigger(minutes=config["TRACING_EXPORT_INTERVAL_MINUTES"]), args=[state],
                      id="tracing", name="tracing: build the export batches that are due", next_run_time=now)
    scheduler.add_job(checkpoint_job, IntervalTrigger(minutes=config["AUDIT_CHECKPOINT_MINUTES"]), args=[state],
                      id="audit-checkpoint", name="audit log: sign a checkpoint", next_run_time=now)
    return scheduler


def serve(state: Any, config: Any) -> None:
    """Run until SIGTERM or SIGINT. A retention run under way is not interrupted: the process
    exits once it ends (its batches are short; a killed run is finished by the next one)."""
    scheduler = build(state, config)

    def stop(_signum: int, _frame: Any) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: retention and releases every %d min, exports every %d min, checkpoint every %d min",
             config["RETENTION_INTERVAL_MINUTES"], config["TRACING_EXPORT_INTERVAL_MINUTES"], config["AUDIT_CHECKPOINT_MINUTES"])
    scheduler.start()
