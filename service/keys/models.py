"""Epoch data keys, stored only wrapped by the key-encryption key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class DataKeyRecord(Base):
    """One data key per epoch (data class, day). Destroying it blanks `wrapped` for good."""

    __tablename__ = "data_key"
    __table_args__ = (UniqueConstraint("data_class", "epoch"),)
    __data_class__ = "data_keys"

    key_id: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    data_class: Mapped[str] = mapped_column(String(32))
    epoch: Mapped[dt.date] = mapped_column(Date)
    kek_id: Mapped[str | None] = mapped_column(String(64))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
