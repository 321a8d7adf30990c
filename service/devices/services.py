"""Issue enrollment codes and exchange them for device credentials.

A code is 12 characters of Crockford base32 (60 random bits), shown as XXXX-XXXX-XXXX: short
enough to type from a coordinator's screen, and with 60 bits an online guesser needs about 2^59
tries per live code, so no attempt counter is needed to keep guessing hopeless. Only a keyed
hash (HMAC under the pseudonym key) is stored, so a database dump cannot be used to enroll.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto.pseudonym import Pseudonymizer
from service.devices.models import EnrollmentCode
from service.partners.models import Credential, Organisation
from service.partners.services import OrganisationKind, PartnerError, issue_credential

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_DOMAIN = "enrollment-code"
# Readers confuse these; Crockford maps them back.
_NORMALISE = str.maketrans({"I": "1", "L": "1", "O": "0"})


class EnrollmentError(Exception):
    """The code is unknown, used or expired (one error for all three: no oracle)."""


def normalise_code(code: str) -> str:
    """Upper-case, drop separators and map look-alike letters, as Crockford base32 says."""
    return code.strip().upper().replace("-", "").replace(" ", "").translate(_NORMALISE)


def issue_code(
    session: Session,
    pseudonyms: Pseudonymizer,
    organisation_id: uuid.UUID,
    *,
    label: str,
    now: dt.datetime,
    ttl: dt.timedelta,
) -> tuple[EnrollmentCode, str]:
    """Create a one-time code for a field service; return the record and the code (shown once)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.revoked_at is not None:
        raise PartnerError("no active organisation with that id")
    if organisation.kind != OrganisationKind.FIELD_SERVICE:
        raise PartnerError("enrollment codes are for field services only")
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    record = EnrollmentCode(
        organisation_id=organisation_id,
        code_hash=pseudonyms.pseudonym(CODE_DOMAIN, raw),
        label=label,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(record)
    session.flush()
    return record, f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def enroll(
    session: Session, pseudonyms: Pseudonymizer, code: str, *, now: dt.datetime
) -> tuple[Credential, str]:
    """Exchange a code for a new device credential; the code can never be used again."""
    code_hash = pseudonyms.pseudonym(CODE_DOMAIN, normalise_code(code))
    record = session.scalars(select(EnrollmentCode).where(EnrollmentCode.code_hash == code_hash)).first()
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise EnrollmentError()
    # Claim the code with a conditional update, so two apps racing with one code cannot both win.
    claimed = session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == record.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise EnrollmentError()
    organisation = session.get(Organisation, record.organisation_id)
    assert organisation is not None
    try:
        credential, token = issue_credential(session, organisation, label=record.label, now=now, actor="enrollment")
    except PartnerError:
        raise EnrollmentError() from None
    record.credential_id = credential.id
    return credential, token


def list_devices(session: Session, organisation_id: uuid.UUID | None = None) -> list[Credential]:
    """Device credentials, newest first, optionally of one field service."""
    query = select(Credential).where(Credential.role == "field_device").order_by(Credential.created_at.desc())
    if organisation_id is not None:
        query = query.where(Credential.organisation_id == organisation_id)
    return list(session.scalars(query))


def device_of(session: Session, organisation_id: uuid.UUID, credential_id: uuid.UUID) -> Credential | None:
    """One device credential of one field service; None for another organisation's, or no device."""
    credential = session.get(Credential, credential_id)
    if credential is None or credential.role != "field_device" or credential.organisation_id != organisation_id:
        return None
    return credential


def pending_codes(session: Session, organisation_id: uuid.UUID, now: dt.datetime) -> list[EnrollmentCode]:
    """A field service's codes that are neither used nor expired, soonest to expire first (never the code)."""
    return list(session.scalars(
        select(EnrollmentCode)
        .where(EnrollmentCode.organisation_id == organisation_id, EnrollmentCode.used_at.is_(None),
               EnrollmentCode.expires_at > now)
        .order_by(EnrollmentCode.expires_at, EnrollmentCode.id)
    ))
