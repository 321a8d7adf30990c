"""Verification codes: issued by an authorised pharmacy after a positive test, redeemed once by the app.

A code is 11 random digits and a Damm check digit, read out as three groups of four
("3141 5926 5358"). Digits read out well in Dutch, French and German alike; the check digit
(python-stdnum's Damm) catches every single wrong digit and every swap of neighbours before the
server counts an attempt. Only HMAC-SHA256 of the code under the pseudonym key is stored, and
the stored hash is compared in constant time.

Guessing: every failed redemption (unknown, used or expired code) counts against one limit per
hour for all callers together (no caller can be told apart: no IP address is kept), and past it
every redemption gets 429 until the hour ends. With F failures an hour and at most A live codes,
an attacker's chance of redeeming any code in an hour is at most F * A / 10^11 (README).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from stdnum import damm

from crypto.pseudonym import Pseudonymizer
from service.partners.models import Organisation
from service.partners.services import OrganisationKind
from service.tracing.models import RedeemFailures, VerificationCode

CODE_DOMAIN = "tracing-code"
RANDOM_DIGITS = 11
CODE_SPACE = 10**RANDOM_DIGITS
# How far back a test date or symptom onset may lie: keys older than this are not accepted either.
MAX_ONSET_AGE = dt.timedelta(days=14)
ONSET_KINDS = ("test", "symptoms")


class TracingError(Exception):
    """A tracing operation that cannot be done; subclasses say what the caller can do."""


class NotPermitted(TracingError):
    """The partner may not issue verification codes."""


class QuotaExceeded(TracingError):
    """The partner issued its quota of codes in the last 24 hours."""

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


class MalformedCode(TracingError):
    """Not twelve digits with a valid check digit: a typo, not an attempt."""


class InvalidCode(TracingError):
    """Unknown, used or expired (one error for all three: no oracle)."""


class TooManyFailures(TracingError):
    """The hour's failed redemptions reached the limit; redemptions resume at the next hour."""

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


class BadOnset(TracingError):
    """The test date or symptom onset lies in the future or too far back."""


@dataclass(frozen=True)
class Onset:
    """What the partner entered and the upload token carries: the kind and the day."""

    kind: str
    date: dt.date


@dataclass(frozen=True)
class CodeRules:
    ttl: dt.timedelta
    per_day: int
    failures_per_hour: int


def format_code(digits: str) -> str:
    """Three groups of four, as a pharmacist reads it out."""
    return f"{digits[:4]} {digits[4:8]} {digits[8:]}"


def normalise_code(text: str) -> str:
    """The digits of a code as typed, without spaces or dashes."""
    return text.replace(" ", "").replace("-", "").strip()


def new_code() -> str:
    """Eleven random digits and their Damm check digit."""
    digits = f"{secrets.randbelow(CODE_SPACE):0{RANDOM_DIGITS}d}"
    return digits + damm.calc_check_digit(digits)


def well_formed(digits: str) -> bool:
    """Twelve ASCII digits whose check digit is right."""
    return len(digits) == RANDOM_DIGITS + 1 and digits.isascii() and digits.isdigit() and damm.is_valid(digits)


def check_onset(onset: Onset, now: dt.datetime) -> None:
    """Refuse a date after tomorrow (Belgium is ahead of UTC) or more than 14 days back."""
    today = now.astimezone(dt.timezone.utc).date()
    if onset.kind not in ONSET_KINDS:
        raise BadOnset("unknown kind")
    if onset.date > today + dt.timedelta(days=1):
        raise BadOnset("Lies in the future.")
    if onset.date < today - MAX_ONSET_AGE:
        raise BadOnset("Lies more than 14 days back.")


def issue_code(
    session: Session, pseudonyms: Pseudonymizer, organisation_id: uuid.UUID, onset: Onset, *, now: dt.datetime, rules: CodeRules
) -> tuple[VerificationCode, str]:
    """A new code for a positive test; return the record and the code as read out (shown once)."""
    check_onset(onset, now)
    # The row lock serialises a partner's issues (PostgreSQL), so the quota holds under concurrency;
    # SQLite writers are serialised already.
    organisation = session.scalars(
        select(Organisation).where(Organisation.id == organisation_id).with_for_update()
    ).first()
    if (
        organisation is None
        or organisation.revoked_at is not None
        or organisation.kind != OrganisationKind.PHARMACY
        or organisation.tracing_granted_at is None
    ):
        raise NotPermitted()
    since = now - dt.timedelta(days=1)
    issued = session.execute(
        select(func.count(), func.min(VerificationCode.issued_at)).where(
            VerificationCode.organisation_id == organisation_id, VerificationCode.issued_at > since
        )
    ).one()
    if issued[0] >= rules.per_day:
        retry = issued[1] + dt.timedelta(days=1) - now
        raise QuotaExceeded(max(1, int(retry.total_seconds()) + 1))
    digits = new_code()
    record = VerificationCode(
        code_hash=pseudonyms.pseudonym(CODE_DOMAIN, digits),
        organisation_id=organisation_id,
        onset_kind=onset.kind,
        onset_date=onset.date,
        issued_at=now,
        expires_at=now + rules.ttl,
        used=False,
    )
    session.add(record)
    session.flush()
    return record, format_code(digits)


def _hour(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def _seconds_to_next_hour(now: dt.datetime) -> int:
    return max(1, int((_hour(now) + dt.timedelta(hours=1) - now).total_seconds()) + 1)


def redeem(session: Session, pseudonyms: Pseudonymizer, code: str, *, now: dt.datetime, rules: CodeRules) -> Onset:
    """Use a code once; return what its partner entered.

    A failure is counted in the session before InvalidCode is raised: the caller commits it.
    """
    digits = normalise_code(code)
    if not well_formed(digits):
        raise MalformedCode()
    hour = _hour(now)
    failures = session.scalar(select(RedeemFailures.failures).where(RedeemFailures.hour == hour)) or 0
    if failures >= rules.failures_per_hour:
        raise TooManyFailures(_seconds_to_next_hour(now))
    code_hash = pseudonyms.pseudonym(CODE_DOMAIN, digits)
    record = session.scalars(select(VerificationCode).where(VerificationCode.code_hash == code_hash)).first()
    if (
        record is None
        or not hmac.compare_digest(record.code_hash, code_hash)
        or record.used
        or record.expires_at <= now
    ):
        _count_failure(session, hour)
        raise InvalidCode()
    # A conditional update claims the code: of two apps racing with one code, one wins.
    claimed = session.execute(
        update(VerificationCode).where(VerificationCode.id == record.id, VerificationCode.used.is_(False)).values(used=True)
    ).rowcount
    if claimed != 1:
        _count_failure(session, hour)
        raise InvalidCode()
    return Onset(record.onset_kind, record.onset_date)


def _count_failure(session: Session, hour: dt.datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(RedeemFailures).values(hour=hour, failures=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[RedeemFailures.hour], set_={"failures": RedeemFailures.failures + 1}
        )
    )


def grant(session: Session, organisation_id: uuid.UUID, *, now: dt.datetime) -> tuple[Organisation, bool]:
    """Allow a pharmacy to issue codes; whether that changed anything (the caller audits it)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.revoked_at is not None:
        raise NotPermitted("no active organisation with that id")
    if organisation.kind != OrganisationKind.PHARMACY:
        raise NotPermitted("only pharmacies can issue verification codes")
    if organisation.tracing_granted_at is not None:
        return organisation, False
    organisation.tracing_granted_at = now
    return organisation, True


def withdraw(session: Session, organisation_id: uuid.UUID) -> tuple[Organisation, bool]:
    """Stop a pharmacy issuing codes (codes it issued stay valid until they expire); whether that
    changed anything."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotPermitted("no organisation with that id")
    if organisation.tracing_granted_at is None:
        return organisation, False
    organisation.tracing_granted_at = None
    return organisation, True
