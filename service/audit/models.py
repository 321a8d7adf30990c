"""The audit log: hash-chained entries, the chain's head, and signed checkpoints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class AuditEntry(Base):
    """One event: what happened, never to whose data. See crypto.audit for the hash."""

    __tablename__ = "audit_entry"
    __data_class__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # HMAC of the hash under the audit MAC key (crypto.audit). None only for entries written
    # before MACs were introduced (seq < the head's mac_from): those have the chain and checkpoints.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The chain's single head row: the last entry, and where the log starts after pruning.

    Appends lock this row, so entries are numbered and chained one at a time on both engines.
    """

    __tablename__ = "audit_head"
    __data_class__ = "audit_log"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Entries up to base_seq were pruned; base_hash is the hash of entry base_seq, and a signed
    # checkpoint at base_seq anchors it.
    base_seq: Mapped[int] = mapped_column(BigInteger)
    base_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Every entry from mac_from on carries a MAC; checkpointed is the highest entry ever signed in
    # a checkpoint (0: none yet), so deleting the checkpoints is not a fresh log's state.
    mac_from: Mapped[int] = mapped_column(BigInteger)
    checkpointed: Mapped[int] = mapped_column(BigInteger)
    # HMAC of all of the above (crypto.audit); None until the first write after MACs were introduced.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed statement that entry `seq` had hash `hash` at time `at`."""

    __tablename__ = "audit_checkpoint"
    __data_class__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
