"""People's accounts, their web sessions, and the sign-in throttle.

Nothing here is readable as it was typed: the e-mail address is stored as a keyed pseudonym (the
invitation was sent to it, sign-in finds the account by it, nobody can read it back), the password
as an argon2id hash, the TOTP secret wrapped under the key-encryption key, tokens and session ids
as SHA-256 hashes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class Person(Base):
    """A person's account in one organisation; usable once the invitation is accepted and the
    second factor confirmed (`active_at`)."""

    __tablename__ = "person"
    __data_class__ = "people"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    # HMAC-SHA256 pseudonym of the normalised e-mail address (service.people.services.email_key).
    email_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # SHA-256 of the one-time invitation token, until the invitation is accepted.
    invitation_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    invitation_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The TOTP secret wrapped under the KEK (bound to this person's id), and the KEK's id.
    totp_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    totp_kek_id: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is accepted once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    active_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser: the cookie carries a random id, the row only its hash."""

    __tablename__ = "web_session"
    __data_class__ = "web_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # created_at + the absolute lifetime: no use of the session extends it.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SignInThrottle(Base):
    """Failed sign-ins per e-mail pseudonym, whether or not an account has that address, so that
    the limit says nothing about which accounts exist."""

    __tablename__ = "sign_in_throttle"
    __data_class__ = "sign_in_throttles"

    email_key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
