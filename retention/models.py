"""The lease that lets exactly one retention run work at a time, and the counts of held rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Date, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class Lease(Base):
    """Who holds a named job, until when. The holder renews it while working."""

    __tablename__ = "lease"
    __data_class__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # host:pid:random; no person.
    holder: Mapped[str | None] = mapped_column(String(96))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# Rows per data class and age value (a UTC day, or a week's Monday) of the holdings declared
# `counted`, kept by triggers on their tables in the same transaction as the rows themselves
# (service/migrations/versions/0009_held_counts.py), so that the DPO's compliance and inventory
# read a few hundred rows instead of counting millions (retention.counts). A row is deleted when
# its count reaches 0. A table, not a model: it holds no record of its own (the retention domain
# exempts it), only numbers about the records of the classes it counts.
held_count = Table(
    "held_count",
    Base.metadata,
    Column("data_class", String(32), primary_key=True),
    Column("epoch", Date, primary_key=True),
    Column("records", BigInteger, nullable=False),
)
