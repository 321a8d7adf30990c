"""Stored tracing data: verification codes, used token ids, uploaded keys, export batches.

Nothing here links an upload to a pharmacy: a code's row is deleted when it is redeemed (the
quota counts codes per pharmacy and day, apart from the codes), the upload token names no code
or pharmacy, a used token's id is kept with its expiry rounded up to the hour, and an upload
keeps only the day and the hour it may be published from, its keys encrypted under the day's
data key like reports. tests/service/tracing/test_unlinkability.py tries the joins.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class VerificationCode(Base):
    """A one-time code a pharmacy issued after a positive test; stored only as a keyed hash."""

    __tablename__ = "verification_code"
    __data_class__ = "verification_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # HMAC-SHA256 of the code under the pseudonym key: a database dump cannot be redeemed.
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # The issuing partner: a revoked pharmacy's codes stop working. The row goes when redeemed.
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    # What the partner entered: "test" (date of the positive test) or "symptoms" (onset).
    onset_kind: Mapped[str] = mapped_column(String(8))
    onset_date: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class CodeQuota(Base):
    """How many codes a pharmacy issued on a UTC day: its quota, kept apart from the codes."""

    __tablename__ = "code_quota"
    __table_args__ = (UniqueConstraint("organisation_id", "day"),)
    __data_class__ = "code_quotas"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    issued: Mapped[int] = mapped_column(Integer)


class RedeemFailures(Base):
    """Failed code redemptions per hour, across all callers: the limit that makes guessing hopeless."""

    __tablename__ = "redeem_failures"
    __data_class__ = "redeem_failure_counts"

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)


class UsedToken(Base):
    """An upload token's one-time id, once used, until the token has expired (replays are refused)."""

    __tablename__ = "used_upload_token"
    __data_class__ = "upload_token_ids"

    # SHA-256 of the token's `jti`: the id itself is not kept.
    jti_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    # The token's expiry rounded up to the hour: the second would date the exchange.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class KeyUpload(Base):
    """Keys of one upload that become public at the same hour, encrypted as one payload.

    An upload is one row, or two when it holds a key that is still valid: that key waits for its
    own hour. `payload` is the packed keys (service.tracing.uploads), encrypted under the data key of
    the `exposure_keys` class and the UTC day received, with the table and id as associated data.
    """

    __tablename__ = "key_upload"
    __table_args__ = (Index("ix_key_upload_publish_at", "publish_at"),)
    __data_class__ = "exposure_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    epoch: Mapped[dt.date] = mapped_column(Date, index=True)
    # The start of the first hour these keys may appear in an export (whole hours only).
    publish_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    keys: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class ExportFile(Base):
    """One signed export file (zip) of a window; a window with many keys has several files."""

    __tablename__ = "export_file"
    __table_args__ = (UniqueConstraint("window_start", "batch_num"),)
    __data_class__ = "export_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    batch_num: Mapped[int] = mapped_column(SmallInteger)
    batch_size: Mapped[int] = mapped_column(SmallInteger)
    # Keys in the file, padding included (the file says as much to anyone who downloads it).
    keys: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
