"""The reports domain: pharmacy and field-device report intake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from service.config import ConfigError, require_integers
from service.domain import Domain
from service.reports import holdings

DEFAULTS: dict[str, Any] = {
    # Intake limits.
    "BATCH_MAX": 500,
    "NOTE_MAX_LENGTH": 500,
    "INTAKE_WINDOW_HOURS": 168,
    # What to do with personal data found in free text: "redact" or "reject".
    "FREE_TEXT_POLICY": "redact",
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse intake settings that cannot run."""
    if config["FREE_TEXT_POLICY"] not in ("redact", "reject"):
        raise ConfigError("SAFESIGNAL_FREE_TEXT_POLICY must be 'redact' or 'reject'")
    require_integers(config, ("BATCH_MAX", "NOTE_MAX_LENGTH", "INTAKE_WINDOW_HOURS"), least=0)


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The intake: its store, the key ring and the deployment's taxonomy and areas."""
    from database.group_commit import GroupCommit
    from service.reports.services import Intake, IntakeRules
    from service.reports.store import SqlIntakeStore

    return Intake(
        store=SqlIntakeStore(state.engine, GroupCommit(state.engine)),
        keyring=state.keyring,
        keystore=state.keystore,
        pseudonyms=state.pseudonyms,
        taxonomy=state.taxonomy,
        areas=state.areas,
        weeks=state.weeks,
        rules=IntakeRules(
            window=dt.timedelta(hours=config["INTAKE_WINDOW_HOURS"]),
            clock_skew=dt.timedelta(seconds=config["CLOCK_SKEW_SECONDS"]),
            redact_free_text=config["FREE_TEXT_POLICY"] == "redact",
            note_max_length=config["NOTE_MAX_LENGTH"],
        ),
    )


def check_policies(config: Mapping[str, Any], policies: Any) -> None:
    """The idempotency records must outlive the intake window."""
    # A replay inside the intake window must still find its record, or it is stored twice.
    # Records go by whole days from the start of the day received, so one day more is needed.
    if policies["idempotency_records"].period_days * 24 < config["INTAKE_WINDOW_HOURS"] + 24:
        raise ConfigError(
            "retention policy of idempotency_records: period_days must exceed SAFESIGNAL_INTAKE_WINDOW_HOURS by a day"
        )


DOMAIN = Domain(
    "reports",
    models="service.reports.models",
    defaults=DEFAULTS,
    check=check,
    check_policies=check_policies,
    build=build,
    provides="intake",
    blueprint="service.reports.views:blp",
    schemas="service.reports.schemas:SCHEMAS",
    holdings=holdings.HOLDINGS,
)
