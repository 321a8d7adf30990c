"""Counts of what became of texts, per UTC day, provider and outcome (table sms_count)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from database.base import upsert_insert
from service.sms.models import SmsCount

# What the counts may say; README and docs/sms.md explain each.
OUTCOMES = (
    "reported", "throttled", "replayed", "refused", "replied", "reply_capped",
    "sent_reply", "sent_code", "sent_notice", "send_retry", "send_failed",
    "delivered", "undelivered_retry", "undelivered", "expired",
)


@functools.cache
def _upsert(dialect: str) -> Any:
    """The one statement every count is, built once per dialect: its compiled form is reused."""
    table = SmsCount.__table__
    return upsert_insert(dialect)(table).values(
        day=bindparam("day"), provider=bindparam("provider"), outcome=bindparam("outcome"), n=bindparam("n"),
    ).on_conflict_do_update(index_elements=["day", "provider", "outcome"], set_={"n": table.c.n + bindparam("n")})


def count(session: Session, day: dt.date, provider: str, *outcomes: str, n: int = 1) -> None:
    """Add n to the day's count of each outcome, in the caller's transaction."""
    if not outcomes:
        return
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown sms outcome {outcome!r}")
    session.connection().execute(
        _upsert(session.get_bind().dialect.name),
        [{"day": day, "provider": provider, "outcome": outcome, "n": n} for outcome in outcomes],
    )


def counts(session: Session, since: dt.date) -> dict[tuple[dt.date, str, str], int]:
    """Every count from `since` on."""
    table = SmsCount.__table__
    return {(row.day, row.provider, row.outcome): row.n
            for row in session.execute(select(table).where(table.c.day >= since))}
