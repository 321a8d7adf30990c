"""The signals' scheduled work: releasing the weeks that are due (the scheduler and
`safesignal signals release`). Computing and storing one week's release is
service.signals.publication's, which requests share.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from database.base import READ_ONLY
from service.signals import services
from service.signals.publication import release


def release_due(state: Any, actor: str) -> list[dt.date]:
    """Release every week that is due; the weeks stored."""
    with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection, state.sessions(bind=connection) as reading:
        weeks = services.due_weeks(reading, state.signals, state.clock())
    return [week for week in weeks if release(state, week, actor)]
