"""Enrollment codes, stored only as keyed hashes."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base, UTCDateTime


class EnrollmentCode(Base):
    """A one-time code a coordinator hands to a field worker's app."""

    __tablename__ = "enrollment_code"
    __data_class__ = "enrollment_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set to NULL when retention deletes the (revoked) credential: the code's own period decides
    # when the code goes, not the credential's.
    credential_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("credential.id", ondelete="SET NULL"))
