"""People's accounts: invitation, password and second factor, sign-in, sessions, revocation.

No Flask here: the web pages, the CLI and the tests call the same functions with a session and
the clock. What a person typed is never stored as typed (see service.people.models).

Sign-in answers never tell whether an account exists: an unknown address costs the same
password hash as a known one, and failures are counted per address pseudonym whether or not a
person has that address, so the limit (`max_failures` within `lock_minutes`, then a lock for
`lock_minutes`) behaves the same for both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crypto.errors import KekError
from service.audit import log as audit_log
from service.partners.models import Organisation
from service.people.models import Person, SignInThrottle, WebSession

# The role a person holds in each kind of organisation: the API's roles, and "coordinator" for
# the person who runs a field service's devices (the devices themselves hold `field_device`).
ROLE_OF_KIND = {
    "pharmacy": "pharmacy",
    "field_service": "coordinator",
    "prevention_service": "analyst",
    "dpo_office": "dpo",
    "operator": "admin",
}
ROLES = tuple(ROLE_OF_KIND.values())

EMAIL_DOMAIN = "person-email"
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}")
PASSWORD_MIN = 12
PASSWORD_MAX = 128
TOTP_ISSUER = "safesignal"
_TOTP_PERIOD = 30


class PeopleError(Exception):
    """A people operation that cannot be done; the message says why (never echoing input)."""


@dataclass(frozen=True)
class PeopleRules:
    """Lifetimes and limits (SAFESIGNAL_PEOPLE_* settings)."""

    invitation_hours: int = 72
    idle_minutes: int = 30
    absolute_hours: int = 12
    max_failures: int = 5
    lock_minutes: int = 15


class Accounts:
    """What the people functions need besides a session: rules, the password hasher, the KEKs
    (TOTP secrets are wrapped under them) and the pseudonym key (e-mail addresses)."""

    def __init__(self, rules: PeopleRules, keks: Any, pseudonyms: Any, *, memory_kib: int = 65536, time_cost: int = 3):
        self.rules = rules
        self.keks = keks
        self.pseudonyms = pseudonyms
        # argon2id; the defaults are RFC 9106's second recommendation (64 MiB, 3 passes).
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=4, hash_len=32,
                                     salt_len=16, type=Type.ID)
        # Verified against when no account has the address, so that both cost the same.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def email_key(self, email: str) -> bytes:
        return self.pseudonyms.pseudonym(EMAIL_DOMAIN, normalise_email(email))

    def verify_password(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def totp_secret(self, person: Person) -> str:
        if person.totp_wrapped is None or person.totp_kek_id is None:
            raise PeopleError("no second factor enrolled")
        try:
            return self.keks.unwrap(person.totp_kek_id, person.totp_wrapped, _totp_context(person.id)).decode("ascii")
        except KekError:
            # A secret copied from another row, or under a KEK no longer configured: the person
            # cannot sign in, and the page says only that sign-in failed.
            raise PeopleError("the second factor cannot be read") from None


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def valid_email(email: str) -> bool:
    return len(email) <= 320 and _EMAIL.fullmatch(email.strip()) is not None


def hash_secret(value: str) -> bytes:
    """The stored form of an invitation token or a session id (256 random bits: SHA-256 suffices)."""
    return hashlib.sha256(value.encode()).digest()


def role_of(organisation: Organisation) -> str:
    return ROLE_OF_KIND[organisation.kind]


def _totp_context(person_id: uuid.UUID) -> bytes:
    return b"safesignal/person-totp/" + person_id.bytes


def _audit(session: Session, kind: str, actor: str, now: dt.datetime, **detail: Any) -> None:
    audit_log.append(session.connection(), kind=kind, actor=actor, at=now, detail=detail)


# Invitation ------------------------------------------------------------------------------------


def invite(session: Session, accounts: Accounts, *, organisation_id: uuid.UUID, email: str, now: dt.datetime,
           actor: str = "cli") -> tuple[Person, str]:
    """A new person in an organisation, with a one-time invitation token (returned, never stored).

    Inviting an address whose invitation is still pending issues a new token (the old one stops
    working). An address with an account, active or revoked, cannot be invited again.
    """
    if not valid_email(email):
        raise PeopleError("not an e-mail address")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.revoked_at is not None:
        raise PeopleError("no such organisation, or it is revoked")
    key = accounts.email_key(email)
    person = session.scalars(select(Person).where(Person.email_key == key)).first()
    if person is not None and (person.active_at is not None or person.revoked_at is not None):
        raise PeopleError("this address already has an account")
    if person is not None and person.organisation_id != organisation.id:
        raise PeopleError("this address has a pending invitation to another organisation; revoke it first")
    token = secrets.token_urlsafe(32)
    if person is None:
        person = Person(organisation_id=organisation.id, email_key=key, created_at=now)
        session.add(person)
    person.invitation_hash = hash_secret(token)
    person.invitation_expires_at = now + dt.timedelta(hours=accounts.rules.invitation_hours)
    session.flush()
    _audit(session, "person.invited", actor, now, person_id=str(person.id), organisation_id=str(organisation.id),
           role=role_of(organisation))
    return person, token


def invited_person(session: Session, token: str, now: dt.datetime) -> Person | None:
    """The person a pending, unexpired invitation token belongs to."""
    if not token or len(token) > 100:
        return None
    person = session.scalars(select(Person).where(Person.invitation_hash == hash_secret(token))).first()
    if person is None or person.revoked_at is not None or person.active_at is not None:
        return None
    if person.invitation_expires_at is None or person.invitation_expires_at <= now:
        return None
    return person


def password_problems(password: str) -> list[str]:
    """Why a new password is refused (message ids the pages translate); empty when acceptable."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append("too_short")
    if len(password) > PASSWORD_MAX:
        problems.append("too_long")
    if len(set(password)) < 5:
        problems.append("too_simple")
    return problems


def set_password(person: Person, accounts: Accounts, password: str) -> None:
    if password_problems(password):
        raise PeopleError("the password does not meet the rules")
    person.password_hash = accounts.hasher.hash(password)


def new_totp(person: Person, accounts: Accounts) -> str:
    """Draw a new TOTP secret for an invited person, store it wrapped, return it (base32)."""
    secret = pyotp.random_base32(32)
    person.totp_kek_id, person.totp_wrapped = accounts.keks.wrap(secret.encode("ascii"), _totp_context(person.id))
    return secret


def provisioning_uri(secret: str, label: str) -> str:
    return pyotp.TOTP(secret, interval=_TOTP_PERIOD).provisioning_uri(name=label, issuer_name=TOTP_ISSUER)


def _readable_secret(accounts: Accounts, person: Person) -> str | None:
    try:
        return accounts.totp_secret(person)
    except PeopleError:
        return None


def _match_step(secret: str | None, code: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The time step `code` is valid for (now, or one step either side), if not used before."""
    code = code.replace(" ", "")
    if secret is None or not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=_TOTP_PERIOD)
    current = int(now.timestamp()) // _TOTP_PERIOD
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            return step
    return None


def confirm_totp(session: Session, person: Person, accounts: Accounts, code: str, now: dt.datetime) -> bool:
    """Activate an invited person whose authenticator shows the right code; the invitation is used up.

    Only while the invitation holds: not once it has expired or the person was revoked (revoking
    clears the invitation), whichever page the person is on.
    """
    if person.password_hash is None or person.active_at is not None or person.revoked_at is not None:
        return False
    if person.invitation_expires_at is None or person.invitation_expires_at <= now:
        return False
    step = _match_step(_readable_secret(accounts, person), code, now, None)
    if step is None:
        return False
    person.totp_last_step = step
    person.active_at = now
    person.invitation_hash = None
    person.invitation_expires_at = None
    session.flush()
    _audit(session, "person.activated", f"person:{person.id}", now, person_id=str(person.id),
           organisation_id=str(person.organisation_id))
    return True


# Sign-in ---------------------------------------------------------------------------------------


def _throttle(session: Session, key: bytes) -> SignInThrottle | None:
    return session.get(SignInThrottle, key)


def locked(session: Session, accounts: Accounts, key: bytes, now: dt.datetime) -> bool:
    row = _throttle(session, key)
    return row is not None and row.locked_until is not None and row.locked_until > now


def _fail(session: Session, accounts: Accounts, key: bytes, now: dt.datetime) -> None:
    rules = accounts.rules
    window = dt.timedelta(minutes=rules.lock_minutes)
    row = _throttle(session, key)
    if row is None:
        row = SignInThrottle(email_key=key, failures=0, window_start=now)
        session.add(row)
    elif row.window_start + window <= now and (row.locked_until is None or row.locked_until <= now):
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= rules.max_failures:
        row.locked_until = now + window
    session.flush()


def check_password(session: Session, accounts: Accounts, email: str, password: str, now: dt.datetime) -> Person | None:
    """The active person with this address and password, unless the address is locked.

    Every failure (unknown address, wrong password, revoked or unfinished account) counts
    towards the lock and returns None, after the same work.
    """
    key = accounts.email_key(email) if valid_email(email) else accounts.email_key("invalid@" + "x" * 8 + ".invalid")
    person = session.scalars(select(Person).where(Person.email_key == key)).first()
    is_locked = locked(session, accounts, key, now)
    matches = accounts.verify_password(person.password_hash if person is not None else None, password[:PASSWORD_MAX])
    if is_locked or not matches or person is None or person.active_at is None or person.revoked_at is not None:
        _fail(session, accounts, key, now)
        return None
    organisation = session.get(Organisation, person.organisation_id)
    if organisation is None or organisation.revoked_at is not None:
        _fail(session, accounts, key, now)
        return None
    return person


def check_second_factor(session: Session, accounts: Accounts, person: Person, code: str, now: dt.datetime) -> bool:
    """Whether `code` is the person's current TOTP code, not used before; a failure counts
    towards the lock and is written to the audit log."""
    if locked(session, accounts, person.email_key, now) or person.revoked_at is not None:
        _fail(session, accounts, person.email_key, now)
        return False
    step = _match_step(_readable_secret(accounts, person), code, now, person.totp_last_step)
    if step is None:
        _fail(session, accounts, person.email_key, now)
        _audit(session, "person.second_factor_failed", f"person:{person.id}", now, person_id=str(person.id))
        return False
    person.totp_last_step = step
    session.execute(delete(SignInThrottle).where(SignInThrottle.email_key == person.email_key))
    session.flush()
    return True


# Sessions --------------------------------------------------------------------------------------


def open_session(session: Session, accounts: Accounts, person: Person, now: dt.datetime) -> str:
    """A new session for a person who passed both factors; returns its id (for the cookie only)."""
    sid = secrets.token_urlsafe(32)
    session.add(WebSession(id_hash=hash_secret(sid), person_id=person.id, created_at=now, last_seen_at=now,
                           expires_at=now + dt.timedelta(hours=accounts.rules.absolute_hours)))
    session.flush()
    _audit(session, "person.signed_in", f"person:{person.id}", now, person_id=str(person.id),
           organisation_id=str(person.organisation_id))
    return sid


# A session's last use is written at most this often (every page view would be a write otherwise).
TOUCH_EVERY = dt.timedelta(seconds=60)


def session_person(session: Session, accounts: Accounts, sid: str, now: dt.datetime) -> tuple[Person, Organisation] | None:
    """The signed-in person and organisation of a live session; an expired session is deleted."""
    if not sid or len(sid) > 100:
        return None
    row = session.get(WebSession, hash_secret(sid))
    if row is None:
        return None
    idle = dt.timedelta(minutes=accounts.rules.idle_minutes)
    person = session.get(Person, row.person_id)
    organisation = session.get(Organisation, person.organisation_id) if person is not None else None
    if (row.expires_at <= now or row.last_seen_at + idle <= now or person is None or organisation is None
            or person.revoked_at is not None or organisation.revoked_at is not None):
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return person, organisation


def close_session(session: Session, sid: str) -> None:
    if sid and len(sid) <= 100:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_secret(sid)))


def set_language(session: Session, person: Person, language: str) -> None:
    person.language = language
    session.flush()


# The operator's commands -----------------------------------------------------------------------


def list_people(session: Session) -> list[tuple[Person, Organisation]]:
    rows = session.execute(select(Person, Organisation).join(Organisation, Person.organisation_id == Organisation.id)
                           .order_by(Person.created_at, Person.id))
    return [(person, organisation) for person, organisation in rows]


class PersonStatus(StrEnum):
    """What a person's account is; the value is what `safesignal people list` prints, and the
    operator's pages show a translated name of it."""

    INVITED = "invited"
    EXPIRED = "invitation expired"
    ACTIVE = "active"
    REVOKED = "revoked"


def person_status(person: Person, now: dt.datetime) -> PersonStatus:
    """What `person`'s account is at `now`: revoked overrides all, then active (second factor
    confirmed), then invited while the invitation runs (the same bound as `invited_person`)."""
    if person.revoked_at is not None:
        return PersonStatus.REVOKED
    if person.active_at is not None:
        return PersonStatus.ACTIVE
    if person.invitation_expires_at is not None and person.invitation_expires_at > now:
        return PersonStatus.INVITED
    return PersonStatus.EXPIRED


def revoke(session: Session, person_id: uuid.UUID, now: dt.datetime, actor: str = "cli") -> Person:
    """Revoke a person: every session of theirs ends now, a pending invitation stops working."""
    person = session.get(Person, person_id)
    if person is None:
        raise PeopleError("no such person")
    if person.revoked_at is None:
        person.revoked_at = now
        person.invitation_hash = None
        person.invitation_expires_at = None
        session.execute(delete(WebSession).where(WebSession.person_id == person.id))
        session.flush()
        _audit(session, "person.revoked", actor, now, person_id=str(person.id), organisation_id=str(person.organisation_id))
    return person


def rewrap_totp_secrets(session: Session, accounts: Accounts, now: dt.datetime, actor: str = "cli") -> int:
    """Re-wrap every TOTP secret not under the current KEK (a KEK rotation); return how many.

    `safesignal keys rotate-kek` moves the vault's data keys only; the secrets wrapped here must
    move too before the old KEK is dropped, or nobody can sign in. Repeatable: secrets already
    under the current KEK are skipped.
    """
    current = accounts.keks.current.kek_id
    count = 0
    for person in session.scalars(select(Person).where(Person.totp_wrapped.is_not(None), Person.totp_kek_id != current)):
        # KekError when a secret is under a KEK this process does not have (the caller says which setting).
        secret = accounts.keks.unwrap(person.totp_kek_id, person.totp_wrapped, _totp_context(person.id))
        person.totp_kek_id, person.totp_wrapped = accounts.keks.wrap(secret, _totp_context(person.id))
        count += 1
    session.flush()
    _audit(session, "keys.kek_rotated", actor, now, what="person_totp", kek_id=current, count=count)
    return count


def sign_out_everywhere(session: Session, person_id: uuid.UUID) -> int:
    return session.execute(delete(WebSession).where(WebSession.person_id == person_id)).rowcount or 0
