"""Organisations and their API credentials. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database.base import Base, UTCDateTime


class Organisation(Base):
    """A partner: a pharmacy, a field-work service, a prevention service, a DPO office, the operator."""

    __tablename__ = "organisation"
    __data_class__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # The registered area of a pharmacy: its reports are counted there.
    area: Mapped[str | None] = mapped_column(String(64))
    # When the operator allowed this pharmacy to issue tracing verification codes (None: not allowed).
    tracing_granted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    credentials: Mapped[list[Credential]] = relationship(back_populates="organisation")


class Credential(Base):
    """An API token of one organisation, with one role; a field device is one credential."""

    __tablename__ = "credential"
    __data_class__ = "credentials"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="credentials")
