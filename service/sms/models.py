"""What the SMS channel stores: none of it a phone number or a message in clear.

- `sms_sender`: one row per sender and UTC day, keyed by the sender's pseudonym under that day's
  key (crypto.keyring.KeyRing.pseudonymizer_for_epoch, data class `sms_senders`), with the day's
  message and reply counts (flood control, the reply cap). The day's key is destroyed when the day
  is over (retention shreds the class), and with it any way to compute, or link, that day's
  pseudonyms.
- `sms_message`: that a provider's message id was seen (a keyed hash), so a replayed webhook is
  acknowledged once and stored once.
- `sms_outbox`: a text waiting to go out (a reply, a verification code, an alert notice): the
  recipient and the text encrypted together under the day's `sms_outbox` key, deleted once the
  provider says it was delivered, or after SMS_OUTBOX_HOURS whatever happened.
- `sms_count`: how many texts each day came to what (reported, throttled, replayed ...), per
  provider: counts only, for the operator and the DPO.
- `alert_subscription`: where a prevention service asked to be told of a flagged alert (an SMS
  number or an e-mail address, encrypted).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class SmsSender(Base):
    """One sender on one UTC day, known only by that day's pseudonym of its number."""

    __tablename__ = "sms_sender"
    __data_class__ = "sms_senders"

    pseudonym: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    messages: Mapped[int] = mapped_column(Integer)
    replies: Mapped[int] = mapped_column(Integer, default=0)


class SmsMessage(Base):
    """That an inbound message id was seen: HMAC-SHA256 of (provider, id) under the pseudonym key."""

    __tablename__ = "sms_message"
    __data_class__ = "sms_message_ids"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)


class SmsOutbox(Base):
    """One text to send: recipient, sender number and text sealed together (`payload`)."""

    __tablename__ = "sms_outbox"
    __data_class__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_due", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    epoch: Mapped[dt.date] = mapped_column(Date, index=True)
    # reply | code | notice: what it is, never what it says.
    purpose: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Keyed hash of the provider's message id once it accepted the text, to match its receipt.
    provider_ref: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True, nullable=True)


class SmsCount(Base):
    """How many texts came to each outcome, per UTC day and provider."""

    __tablename__ = "sms_count"
    __table_args__ = (UniqueConstraint("day", "provider", "outcome"),)
    __data_class__ = "sms_counts"

    # A surrogate key: retention deletes by one key column.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date)
    provider: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(24))
    n: Mapped[int] = mapped_column(Integer)


class AlertSubscription(Base):
    """A prevention service's wish to be told, by SMS or e-mail, that a week has a flagged alert."""

    __tablename__ = "alert_subscription"
    __data_class__ = "alert_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    medium: Mapped[str] = mapped_column(String(8))  # sms | email
    # The number or address, encrypted under the `alert_subscriptions` key of `epoch`.
    contact: Mapped[bytes] = mapped_column(LargeBinary)
    epoch: Mapped[dt.date] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The last release week it was told about, so a week is notified once.
    notified_week: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
