"""Stored reports and idempotency records.

The clear columns of a report are only the coarse dimensions aggregated signals need: channel,
category, area, the hour observed, the hour received and the epoch. Everything else (count, age
band, sex, referral, the screened note) is in `payload`, encrypted under the epoch's data key with
the row's table and id as associated data. Times are hours: an exact minute of a report at a
pharmacy counter could point at one visit.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, Index, LargeBinary, SmallInteger, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime
from service.reports.registry import CHANNELS


class Report(Base):
    """One report of any channel; `data_class` names its retention policy (its channel's)."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_data_class_epoch", "data_class", "epoch"),)
    __data_class__ = tuple(channel.data_class for channel in CHANNELS.values())

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    data_class: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    observed_hour: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    received_hour: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    epoch: Mapped[dt.date] = mapped_column(Date)
    # Keyed pseudonym of the reporting pharmacy or device (16 bytes), for contribution bounds.
    reporter: Mapped[bytes] = mapped_column(LargeBinary(16))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class Submission(Base):
    """That a client id was seen, for idempotent replays; it does not say which report it became."""

    __tablename__ = "submission"
    __data_class__ = "idempotency_records"

    # Keyed pseudonym of (organisation, client id): the raw client id is never stored.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    # Keyed digest of the report as received, to tell a replay from a conflicting reuse.
    content_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    redactions: Mapped[int] = mapped_column(SmallInteger)
    received_hour: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    epoch: Mapped[dt.date] = mapped_column(Date, index=True)
