"""Verification codes: issued by an authorised pharmacy after a positive test, redeemed once by the app.

A code is 11 random digits and a Damm check digit, read out as three groups of four
("3141 5926 5358"). Digits read out well in Dutch, French and German alike; the check digit
(python-stdnum's Damm) catches every single wrong digit and every swap of neighbours before the
server counts an attempt. Only HMAC-SHA256 of the code under the pseudonym key is stored, and
the stored hash is compared in constant time.

Guessing: every failed redemption (unknown, used or expired code) counts against one limit per
hour for all callers together, counted before the code is looked up (no caller can be told apart: no IP address is kept), and past it
every redemption gets 429 until the hour ends. With F failures an hour and at most A live codes,
an attacker's chance of redeeming any code in an hour is at most F * A / 10^11 (README).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from stdnum import damm

from crypto.pseudonym import Pseudonymizer
from database.base import upsert_insert
from service.partners.models import Organisation
from service.partners.services import OrganisationKind
from service.tracing.models import CodeQuota, RedeemFailures, VerificationCode

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
    """The partner issued its quota of codes for the day (UTC)."""

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
    """The test date or symptom onset lies in the future or too far back; `kind` says which was given."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


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
        raise BadOnset("unknown kind", onset.kind)
    if onset.date > today + dt.timedelta(days=1):
        raise BadOnset("Lies in the future.", onset.kind)
    if onset.date < today - MAX_ONSET_AGE:
        raise BadOnset("Lies more than 14 days back.", onset.kind)


def _upsert(session: Session, table: type, values: dict[str, object], keys: list[str], column: str, step: int = 1) -> int:
    """Add `step` to `column` of the row with these key values (creating it at `step`); the new value.

    One statement, so concurrent callers queue on the row instead of reading the same count.
    """
    counter = getattr(table, column)
    statement = upsert_insert(session.get_bind().dialect.name)(table).values(**values, **{column: step}).on_conflict_do_update(
        index_elements=keys, set_={column: counter + step}
    ).returning(counter)
    return int(session.execute(statement).scalar_one())


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)


def may_issue(organisation: Organisation | None) -> bool:
    """Whether this organisation may issue codes: an active pharmacy the operator granted tracing."""
    return (
        organisation is not None
        and organisation.revoked_at is None
        and organisation.kind == OrganisationKind.PHARMACY
        and organisation.tracing_granted_at is not None
    )


def codes_issued(session: Session, organisation_id: uuid.UUID, *, now: dt.datetime) -> int:
    """How many codes the organisation issued this UTC day (the count its quota is checked on)."""
    day = now.astimezone(dt.timezone.utc).date()
    issued = session.scalar(select(CodeQuota.issued).where(CodeQuota.organisation_id == organisation_id, CodeQuota.day == day))
    return int(issued or 0)


def issue_code(
    session: Session, pseudonyms: Pseudonymizer, organisation_id: uuid.UUID, onset: Onset, *, now: dt.datetime, rules: CodeRules
) -> tuple[VerificationCode, str]:
    """A new code for a positive test; return the record and the code as read out (shown once).

    QuotaExceeded leaves the day's count raised in the session: the caller rolls back.
    """
    check_onset(onset, now)
    if not may_issue(session.get(Organisation, organisation_id)):
        raise NotPermitted()
    day = now.astimezone(dt.timezone.utc).date()
    issued = _upsert(session, CodeQuota, {"organisation_id": organisation_id, "day": day}, ["organisation_id", "day"], "issued")
    if issued > rules.per_day:
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        raise QuotaExceeded(_seconds_until(midnight, now))
    digits = new_code()
    record = VerificationCode(
        code_hash=pseudonyms.pseudonym(CODE_DOMAIN, digits),
        organisation_id=organisation_id,
        onset_kind=onset.kind,
        onset_date=onset.date,
        issued_at=now,
        expires_at=now + rules.ttl,
    )
    session.add(record)
    session.flush()
    return record, format_code(digits)


def _hour(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def failures_exhausted(session: Session, *, now: dt.datetime, rules: CodeRules) -> int | None:
    """Seconds until redemptions resume if this hour's failures reached the limit, else None."""
    failures = session.scalar(select(RedeemFailures.failures).where(RedeemFailures.hour == _hour(now))) or 0
    if failures >= rules.failures_per_hour:
        return _seconds_until(_hour(now) + dt.timedelta(hours=1), now)
    return None


def redeem(session: Session, pseudonyms: Pseudonymizer, code: str, *, now: dt.datetime, rules: CodeRules) -> Onset:
    """Use a code once; return what its partner entered. The code's row is deleted.

    Every attempt is first counted as a failure, in one statement, so that concurrent guesses
    cannot all read a count under the limit; a success takes its count back. On InvalidCode the
    caller commits (the failure stays counted); on TooManyFailures it rolls back.
    """
    digits = normalise_code(code)
    if not well_formed(digits):
        raise MalformedCode()
    hour = _hour(now)
    attempts = _upsert(session, RedeemFailures, {"hour": hour}, ["hour"], "failures")
    if attempts > rules.failures_per_hour:
        raise TooManyFailures(_seconds_until(hour + dt.timedelta(hours=1), now))
    code_hash = pseudonyms.pseudonym(CODE_DOMAIN, digits)
    found = session.execute(
        select(VerificationCode.id, VerificationCode.code_hash, VerificationCode.onset_kind, VerificationCode.onset_date)
        .join(Organisation)
        .where(
            VerificationCode.code_hash == code_hash,
            VerificationCode.expires_at > now,
            Organisation.revoked_at.is_(None),  # a revoked pharmacy's codes stop working
        )
    ).first()
    if found is None or not hmac.compare_digest(bytes(found.code_hash), code_hash):
        raise InvalidCode()
    # Deleting the row claims the code (of two apps racing with one code, one deletes it) and
    # leaves nothing that says which pharmacy's code became an upload.
    if session.execute(delete(VerificationCode).where(VerificationCode.id == found.id)).rowcount != 1:
        raise InvalidCode()
    _upsert(session, RedeemFailures, {"hour": hour}, ["hour"], "failures", step=-1)
    return Onset(found.onset_kind, found.onset_date)


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


def set_tracing(
    session: Session, organisation_id: uuid.UUID, allowed: bool, *, now: dt.datetime,
    audit: Callable[..., int], actor: str,
) -> tuple[Organisation, bool]:
    """Grant or withdraw (the operator's command and page alike), audited when it changed anything.

    Granting twice is one grant in the audit log; NotPermitted as grant() and withdraw() raise it.
    """
    if allowed:
        organisation, changed = grant(session, organisation_id, now=now)
    else:
        organisation, changed = withdraw(session, organisation_id)
    if changed:
        session.flush()
        audit(session.connection(), "tracing.granted" if allowed else "tracing.withdrawn", actor,
              organisation_id=str(organisation.id))
    return organisation, changed
