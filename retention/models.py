"""The lease that lets exactly one retention run work at a time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
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
