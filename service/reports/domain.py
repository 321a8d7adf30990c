"""The reports domain: pharmacy and field-device report intake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from service.domain import Domain
from service.reports import holdings


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
        rules=IntakeRules(
            window=dt.timedelta(hours=config["INTAKE_WINDOW_HOURS"]),
            clock_skew=dt.timedelta(seconds=config["CLOCK_SKEW_SECONDS"]),
            redact_free_text=config["FREE_TEXT_POLICY"] == "redact",
            note_max_length=config["NOTE_MAX_LENGTH"],
        ),
    )


DOMAIN = Domain(
    "reports",
    build=build,
    provides="intake",
    blueprint="service.reports.views:blp",
    schemas="service.reports.schemas:SCHEMAS",
    holdings=holdings.HOLDINGS,
)
