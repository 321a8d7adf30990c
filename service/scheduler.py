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

from service.domains import DOMAINS

log = logging.getLogger(__name__)


def build(state: Any, config: Any) -> BlockingScheduler:
    """The scheduler with every domain's jobs; each runs once at start, then at its interval."""
    scheduler = BlockingScheduler(
        timezone=dt.timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    now = dt.datetime.now(dt.timezone.utc)
    for domain in DOMAINS:
        for job in domain.jobs:
            scheduler.add_job(job.run, IntervalTrigger(minutes=config[job.interval]), args=[state],
                              id=job.id, name=job.name, next_run_time=now)
    return scheduler


def serve(state: Any, config: Any) -> None:
    """Run until SIGTERM or SIGINT. A retention run under way is not interrupted: the process
    exits once it ends (its batches are short; a killed run is finished by the next one)."""
    scheduler = build(state, config)

    def stop(_signum: int, _frame: Any) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s", ", ".join(f"{job.id} every {config[job.interval]} min"
                                                 for domain in DOMAINS for job in domain.jobs))
    scheduler.start()
