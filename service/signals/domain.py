"""The signals domain: weekly differentially private aggregates of the reports."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from service.config import ConfigError, require_integers, require_number
from service.domain import Domain, Job
from service.signals import holdings
from service.signals.protection import DEFAULT_SPLIT, ProtectionRules
from service.signals.weeks import UnknownTimeZone, WeekCalendar

DEFAULTS: dict[str, Any] = {
    # Cells under K are never shown; one reporter counts at most CONTRIBUTION_CAP times per
    # (week, area, category); each weekly release spends EPSILON_PER_RELEASE of an analyst
    # organisation's BUDGET_PER_QUARTER (the default budget opens every week of a quarter once);
    # a week is released RELEASE_DELAY_DAYS after it ends, which must outlast the intake window
    # so that no report of a released week can still come.
    "SIGNALS_K": 5,
    "SIGNALS_CONTRIBUTION_CAP": 2,
    "SIGNALS_EPSILON_PER_RELEASE": 1.0,
    "SIGNALS_BUDGET_PER_QUARTER": 14.0,
    "SIGNALS_RELEASE_DELAY_DAYS": 8,
    # How EPSILON_PER_RELEASE is shared between the six parts (geo level / taxonomy level); a part
    # with 0 is not measured, only summed from the others (service.signals.protection).
    "SIGNALS_EPSILON_SPLIT": dict(DEFAULT_SPLIT),
    # Weeks are ISO weeks of local time in this IANA time zone (service.signals.weeks).
    "SIGNALS_TIME_ZONE": "Europe/Brussels",
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse signal settings that cannot run (after the reports' check: it reads the intake window)."""
    for key in ("SIGNALS_EPSILON_PER_RELEASE", "SIGNALS_BUDGET_PER_QUARTER"):
        require_number(config, key, 0, 1000)
    window = config["INTAKE_WINDOW_HOURS"] * 3600 + config["CLOCK_SKEW_SECONDS"]
    if isinstance(config["SIGNALS_RELEASE_DELAY_DAYS"], int) and config["SIGNALS_RELEASE_DELAY_DAYS"] * 86400 < window:
        raise ConfigError(
            "SAFESIGNAL_SIGNALS_RELEASE_DELAY_DAYS must outlast the intake window and clock skew: "
            "a report of a released week could still arrive"
        )
    require_integers(config, ("SIGNALS_K", "SIGNALS_CONTRIBUTION_CAP", "SIGNALS_RELEASE_DELAY_DAYS"), least=1)
    split = config["SIGNALS_EPSILON_SPLIT"]
    if not isinstance(split, dict):
        raise ConfigError("SAFESIGNAL_SIGNALS_EPSILON_SPLIT must be a JSON object of the six parts' shares")
    try:
        protection_rules(config)
    except ValueError as error:
        raise ConfigError(f"SAFESIGNAL_SIGNALS_EPSILON_SPLIT: {error}") from None
    try:
        WeekCalendar.named(config["SIGNALS_TIME_ZONE"])
    except UnknownTimeZone as error:
        raise ConfigError(f"SAFESIGNAL_SIGNALS_TIME_ZONE: {error} (an IANA name such as Europe/Brussels)") from None


def protection_rules(config: Mapping[str, Any]) -> ProtectionRules:
    return ProtectionRules(
        k=config["SIGNALS_K"], cap=config["SIGNALS_CONTRIBUTION_CAP"],
        epsilon=float(config["SIGNALS_EPSILON_PER_RELEASE"]),
        split=tuple(sorted(config["SIGNALS_EPSILON_SPLIT"].items())),
    )

log = logging.getLogger("service.scheduler")


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The signals' rules over the deployment's areas and taxonomy."""
    from service.signals.ears import EarsRules
    from service.signals.services import SignalRules, Signals

    return Signals.build(
        state.areas.areas(), state.taxonomy, state.areas.etag,
        SignalRules(
            protection=protection_rules(config),
            budget_per_quarter=float(config["SIGNALS_BUDGET_PER_QUARTER"]),
            delay=dt.timedelta(days=config["SIGNALS_RELEASE_DELAY_DAYS"]),
            tallies_kept=dt.timedelta(days=state.policies["signal_tallies"].period_days),
            ears=EarsRules(),
            weeks=state.weeks,
            backdating=dt.timedelta(hours=config["INTAKE_WINDOW_HOURS"], seconds=config["CLOCK_SKEW_SECONDS"]),
        ),
    )


def signals_job(state: Any) -> None:
    """Release the weeks that are due (service.signals.jobs)."""
    from service.signals.jobs import release_due
    from service.signals.weeks import week_label

    weeks = release_due(state, "scheduler")
    if weeks:
        log.info("signals released: %s", ", ".join(week_label(week) for week in weeks))


def check_policies(config: Mapping[str, Any], policies: Any) -> None:
    """Tallies must outlive their week's release, and the budget ledger every release of its quarter."""
    # A week's tallies must still be there when the week is released (it ends 7 days after its
    # Monday), with a day to spare for a scheduler that was down.
    if policies["signal_tallies"].period_days < 7 + config["SIGNALS_RELEASE_DELAY_DAYS"] + 1:
        raise ConfigError(
            "retention policy of signal_tallies: period_days must exceed 7 + SAFESIGNAL_SIGNALS_RELEASE_DELAY_DAYS by a day"
        )
    # Ledger entries count from their week's Monday, and a quarter spans up to 14 weeks: each
    # entry must outlive every release of its quarter, or purging the quarter's first entries
    # would hand its budget back while later weeks are still there to open.
    if policies["privacy_budget_ledger"].period_days < policies["signal_releases"].period_days + 98:
        raise ConfigError(
            "retention policy of privacy_budget_ledger: period_days must exceed that of signal_releases by a quarter (98 days)"
        )


DOMAIN = Domain(
    "signals",
    models="service.signals.models",
    defaults=DEFAULTS,
    check=check,
    check_policies=check_policies,
    build=build,
    blueprint="service.signals.views:blp",
    schemas="service.signals.schemas:SCHEMAS",
    commands=("service.signals.commands:signals_group",),
    jobs=(Job("signals", "signals: compute the weeks that are due", "RETENTION_INTERVAL_MINUTES", signals_job),),
    holdings=holdings.HOLDINGS,
)
