"""Redeeming a verification code for an upload token: a request's unit of work, owning its
transaction.

A code's redemption commits even when it fails: the failure counts against the hour's limit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.tracing import codes, services


def exchange(state: Any, code: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """Redeem a code for an upload token in a transaction of its own; an unknown, used or expired
    code (InvalidCode) is counted, committed, then raised. TooManyFailures leaves nothing behind."""
    with state.sessions() as session:
        try:
            result = services.exchange(session, state.tracing, code, now=now)
        except codes.InvalidCode:
            session.commit()  # the failure counts
            raise
        session.commit()
    return result
