"""The key vault: epoch data keys, stored only wrapped by the key-encryption key.

The vault is its own database (SAFESIGNAL_KEYS_DATABASE_URL), never the one that holds the
payloads. Crypto-shredding depends on it: destroying an epoch's key must make that epoch's
payloads unreadable in every copy of the main database too (replicas, dumps, backups), and a copy
that carried its own keys would stay readable. So the vault has its own metadata, migrations and
backup policy (README, "Retention").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, LargeBinary, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from database.base import NAMING_CONVENTION, UTCDateTime


class VaultBase(DeclarativeBase):
    """Base of the vault's models; each names its retention data class like `database.base.Base`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DataKeyRecord(VaultBase):
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
    # When the destruction was written to the audit log (another database): a crash between the
    # two leaves it None, and the next retention run writes it.
    logged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the destroyed key's old bytes were confirmed gone from the vault's files (SQLite: a
    # complete checkpoint that truncated the write-ahead log; PostgreSQL: a VACUUM FULL no open
    # snapshot could hold back). None on a destroyed key: retention is still trying.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
