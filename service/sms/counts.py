"""Counts of what became of texts, per UTC day, provider and outcome (table sms_count)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.base import upsert_insert
from service.sms.models import SmsCount

# What the counts may say; README and docs/sms.md explain each.
OUTCOMES = (
    "reported", "throttled", "replayed", "refused", "replied", "reply_capped",
    "sent_reply", "sent_code", "sent_notice", "send_retry", "send_failed",
    "delivered", "undelivered_retry", "undelivered", "expired",
)


def count(session: Session, day: dt.date, provider: str, outcome: str, n: int = 1) -> None:
    """Add n to the day's count of this outcome, in the caller's transaction (one statement)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown sms outcome {outcome!r}")
    table = SmsCount.__table__
    session.execute(
        upsert_insert(session.get_bind().dialect.name)(table)
        .values(day=day, provider=provider, outcome=outcome, n=n)
        .on_conflict_do_update(index_elements=["day", "provider", "outcome"], set_={"n": table.c.n + n})
    )


def counts(session: Session, since: dt.date) -> dict[tuple[dt.date, str, str], int]:
    """Every count from `since` on."""
    table = SmsCount.__table__
    return {(row.day, row.provider, row.outcome): row.n
            for row in session.execute(select(table).where(table.c.day >= since))}
