"""The signals domain: weekly differentially private aggregates of the reports."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from service.domain import Domain, Job
from service.signals import holdings

log = logging.getLogger("service.scheduler")


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The signals' rules over the deployment's areas and taxonomy."""
    from service.signals.ears import EarsRules
    from service.signals.release import ReleaseRules
    from service.signals.services import SignalRules, Signals

    return Signals.build(
        state.areas.areas(), state.taxonomy, state.areas.etag,
        SignalRules(
            release=ReleaseRules(
                k=config["SIGNALS_K"], cap=config["SIGNALS_CONTRIBUTION_CAP"],
                epsilon=float(config["SIGNALS_EPSILON_PER_RELEASE"]),
            ),
            budget_per_quarter=float(config["SIGNALS_BUDGET_PER_QUARTER"]),
            delay=dt.timedelta(days=config["SIGNALS_RELEASE_DELAY_DAYS"]),
            tallies_kept=dt.timedelta(days=state.policies["signal_tallies"].period_days),
            ears=EarsRules(),
        ),
    )


def signals_job(state: Any) -> None:
    """Release the weeks that are due (service.signals.jobs)."""
    from service.signals.jobs import release_due
    from service.signals.release import week_label

    weeks = release_due(state, "scheduler")
    if weeks:
        log.info("signals released: %s", ", ".join(week_label(week) for week in weeks))


DOMAIN = Domain(
    "signals",
    build=build,
    blueprint="service.signals.views:blp",
    schemas="service.signals.schemas:SCHEMAS",
    jobs=(Job("signals", "signals: compute the weeks that are due", "RETENTION_INTERVAL_MINUTES", signals_job),),
    holdings=holdings.HOLDINGS,
)
