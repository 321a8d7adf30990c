"""The outbox: texts that go out through the provider's API, with retries, and gone once delivered.

A text (a reply, a verification code, an alert notice) is queued with its recipient and its
text sealed together under the day's `sms_outbox` data key, bound to its row. Delivery claims a
row (one statement: two workers never send one row twice), opens it, hands it to the provider,
and keeps only a keyed hash of the provider's message id to match the delivery receipt. The
receipt deletes the row when it says "delivered"; "failed" sends again with backoff while
attempts remain; a row nobody confirmed is deleted SMS_OUTBOX_HOURS after it was queued,
whatever happened (the policy's period of one day is the ceiling, enforced by retention).

Nothing here logs or raises with a number or a text: a failure is counted by kind.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crypto.envelope import associated_data
from database.base import READ_ONLY
from service.sms.counts import count
from service.sms.models import SmsOutbox

log = logging.getLogger(__name__)

DATA_CLASS = "sms_outbox"
REF_DOMAIN = "sms-provider-ref"
PURPOSES = ("reply", "code", "notice")
# A claimed row is not claimed again before this, should its sender die mid-send.
CLAIM = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class OutboxRules:
    ttl: dt.timedelta  # SMS_OUTBOX_HOURS
    max_attempts: int  # SMS_OUTBOX_MAX_ATTEMPTS
    backoff: dt.timedelta = dt.timedelta(seconds=30)  # doubled at each attempt, with jitter
    backoff_cap: dt.timedelta = dt.timedelta(minutes=30)


class _Sealed(msgspec.Struct, array_like=True):
    to: str
    sender: str
    text: str


def _aad(row_id: uuid.UUID) -> bytes:
    return associated_data(SmsOutbox.__tablename__, row_id.bytes)


def enqueue(session: Session, crypt: Any, *, provider: str, to: str, sender: str, text: str, purpose: str,
            now: dt.datetime, rules: OutboxRules, claimed: bool = False, expires_at: dt.datetime | None = None) -> uuid.UUID:
    """Queue one text in the caller's transaction; its id (deliver it once committed).

    `claimed`: the caller sends it itself right after committing (`deliver(..., claimed=True)`, no
    claim to commit first); the scheduler takes it only if that did not happen within CLAIM.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown outbox purpose {purpose!r}")
    row_id = uuid.uuid4()
    epoch = now.astimezone(dt.timezone.utc).date()
    sealed = crypt.keyring.encrypt(crypt.keystore, DATA_CLASS, epoch, msgspec.msgpack.encode(_Sealed(to, sender, text)), _aad(row_id))
    session.add(SmsOutbox(
        id=row_id, epoch=epoch, purpose=purpose, provider=provider, payload=sealed, created_at=now,
        expires_at=min(now + rules.ttl, expires_at or now + rules.ttl), attempts=1 if claimed else 0,
        next_attempt_at=now + CLAIM if claimed else now,
        provider_ref=None,
    ))
    return row_id


def _backoff(rules: OutboxRules, attempts: int) -> dt.timedelta:
    """Exponential, capped, with full jitter over its upper half (so retries of many rows spread)."""
    ceiling = min(rules.backoff * (2 ** max(0, attempts - 1)), rules.backoff_cap)
    return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - spreading retries, not a secret


@dataclass
class Delivery:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


_COLUMNS = ("id", "epoch", "purpose", "provider", "payload", "attempts", "expires_at")


def _claim(sessions: Callable[[], Session], row_id: uuid.UUID, now: dt.datetime) -> Any:
    """Take the row for sending if it is due and nobody holds it: one statement, committed at once."""
    table = SmsOutbox.__table__
    with sessions() as session:
        row = session.execute(
            update(table)
            .where(table.c.id == row_id, table.c.next_attempt_at <= now, table.c.expires_at > now,
                   table.c.provider_ref.is_(None))
            .values(next_attempt_at=now + CLAIM, attempts=table.c.attempts + 1)
            .returning(*(table.c[name] for name in _COLUMNS))
        ).first()
        session.commit()
    return row


def _claimed(reader: Callable[[], Any], row_id: uuid.UUID) -> Any:
    """A row its caller queued already claimed, read without a write lock (SQLite)."""
    table = SmsOutbox.__table__
    with reader() as connection:
        return connection.execute(
            select(*(table.c[name] for name in _COLUMNS)).where(table.c.id == row_id, table.c.provider_ref.is_(None))
        ).first()


def deliver(sessions: Callable[[], Session], crypt: Any, gateways: Mapping[str, Any], row_ids: list[uuid.UUID],
            *, status_url: Callable[[str], str], now: Callable[[], dt.datetime], rules: OutboxRules,
            claimed: bool = False) -> Delivery:
    """Send each of these rows that is due (or, `claimed`, that its caller queued claimed).

    No transaction is open while the provider is called: a row is claimed (or read) first, and
    what the provider said is written after, each in one short transaction.
    """
    from service.sms.gateways import SendError

    done = Delivery()
    for row_id in row_ids:
        row = _claimed(lambda: crypt.engine.connect().execution_options(**{READ_ONLY: True}), row_id) if claimed \
            else _claim(sessions, row_id, now())
        if row is None:
            continue
        gateway = gateways.get(row.provider)
        outcome, error = "sent", None
        try:
            sealed = msgspec.msgpack.decode(crypt.keyring.decrypt(crypt.keystore, row.payload, _aad(row.id)), type=_Sealed)
            if gateway is None:
                raise SendError(f"provider {row.provider} is not configured", retryable=False)
            provider_id = gateway.send(sealed.sender, sealed.to, sealed.text, status_url(row.provider))
        except SendError as failure:
            outcome, error = ("retry" if failure.retryable and row.attempts < rules.max_attempts else "failed"), failure
        except Exception as failure:  # noqa: BLE001 - a key gone (shredded) or a broken row: dropped, by kind
            outcome, error = "failed", failure
        table = SmsOutbox.__table__
        with sessions() as session:
            if outcome == "sent":
                session.execute(update(table).where(table.c.id == row.id).values(
                    provider_ref=provider_ref(crypt.pseudonyms, row.provider, provider_id), next_attempt_at=row.expires_at))
                count(session, row.epoch, row.provider, f"sent_{row.purpose}")
                done.sent += 1
            elif outcome == "retry":
                session.execute(update(table).where(table.c.id == row.id).values(
                    next_attempt_at=now() + _backoff(rules, row.attempts)))
                count(session, row.epoch, row.provider, "send_retry")
                done.retrying += 1
            else:
                log.warning("sms %s not sent after %d attempts: %s", row.purpose, row.attempts, type(error).__name__
                            if not isinstance(error, SendError) else error)
                session.execute(delete(table).where(table.c.id == row.id))
                count(session, row.epoch, row.provider, "send_failed")
                done.failed += 1
            session.commit()
    return done


def provider_ref(pseudonyms: Any, provider: str, provider_id: str) -> bytes:
    """Keyed hash of a provider's message id: matches a receipt, says nothing without the key."""
    return pseudonyms.pseudonym(REF_DOMAIN, f"{provider}:{provider_id}")


def due(session: Session, now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Rows waiting to be sent (first tries and retries), oldest first."""
    table = SmsOutbox.__table__
    return list(session.scalars(
        select(table.c.id).where(table.c.next_attempt_at <= now, table.c.expires_at > now, table.c.provider_ref.is_(None))
        .order_by(table.c.next_attempt_at).limit(limit)
    ))


def receipt(session: Session, pseudonyms: Any, provider: str, provider_id: str, state: str, now: dt.datetime,
            rules: OutboxRules) -> str:
    """Apply a delivery receipt in the caller's transaction; what became of the row."""
    row = session.scalars(
        select(SmsOutbox).where(SmsOutbox.provider_ref == provider_ref(pseudonyms, provider, provider_id))
    ).first()
    if row is None:
        return "unknown"  # delivered and deleted already, expired, or not ours: nothing to do
    if state == "delivered":
        session.delete(row)
        session.flush()
        count(session, row.epoch, provider, "delivered")  # last: the day's count row is locked until commit
        return "deleted"
    if state == "failed":
        if row.attempts < rules.max_attempts and row.expires_at > now:
            row.provider_ref = None
            row.next_attempt_at = now + _backoff(rules, row.attempts)
            count(session, row.epoch, provider, "undelivered_retry")
            return "retrying"
        count(session, row.epoch, provider, "undelivered")
        session.delete(row)
        return "deleted"
    return "pending"


def expire(session: Session, now: dt.datetime) -> int:
    """Delete every row past SMS_OUTBOX_HOURS, sent or not, in the caller's transaction; how many."""
    table = SmsOutbox.__table__
    gone = session.execute(
        select(table.c.epoch, table.c.provider, func.count()).where(table.c.expires_at <= now)
        .group_by(table.c.epoch, table.c.provider)
    ).all()
    session.execute(delete(table).where(table.c.expires_at <= now))
    for epoch, provider, n in gone:
        count(session, epoch, provider, "expired", n=n)
    return sum(n for _, _, n in gone)
