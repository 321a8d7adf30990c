"""Computing and storing a week's release, and opening weeks: what requests and the scheduler
share. Each owns its transactions (as retention's runs do).

A release is computed on a read-only connection and stored in a short write transaction of its
own: computing a city's release takes a tenth of a second or more (noise for every cell, the
consistency solve), and on SQLite a write transaction would hold the database's write lock, and so
intake, all that time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from database.base import READ_ONLY
from service.signals import services

T = TypeVar("T")


def open_weeks(state: Any, weeks: tuple[dt.date, ...], session: Session, call: Callable[[], T], actor: str = "signals") -> T:
    """Open weeks for an organisation: compute and store their missing releases, each in its own
    short transaction, then run `call` (which opens them in `session`, the request's: it only
    records the opening), run it again if another process stored the same release or spend
    first, and commit. The signals errors of `call` propagate."""
    for week in weeks:
        release(state, week, actor)
    result = services.with_race_retry(call, session)
    session.commit()
    return result


def release(state: Any, week: dt.date, actor: str) -> bool:
    """Compute and store the week's missing releases; whether anything was stored. A week that
    cannot be released is left alone (open_week refuses it); a release another process stored
    meanwhile is kept."""
    with state.engine.connect().execution_options(**{READ_ONLY: True}) as connection, state.sessions(bind=connection) as reading:
        try:
            computed = services.compute_missing(reading, state.signals, week, state.clock())
        except services.NotReleased:
            return False
    if not computed:
        return False
    with state.sessions() as writing:
        try:
            services.store(writing, computed, state.audit, actor)
            writing.commit()
        except IntegrityError:
            writing.rollback()
            return False
    return True
