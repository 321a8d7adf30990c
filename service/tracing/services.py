"""The tracing service's collaborators, a code sent by SMS, and the two steps an app takes: exchange a code, upload keys."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from crypto.keyring import KeyRing, KeyStore
from crypto.pseudonym import Pseudonymizer
from database.base import upsert_insert
from service.partners.models import Organisation
from service.sms import services as sms
from service.sms.outbox import Delivery
from service.tracing import codes, sms_text, uploads
from service.tracing.chaff import ResponseClock
from service.tracing.exports import ExportRules
from service.tracing.models import UsedToken, VerificationCode
from service.tracing.tokens import TokenIssuer


class ReplayedToken(codes.TracingError):
    """The token's one-time id was used already."""


class NoSms(codes.TracingError):
    """This deployment sends no texts (no SMS provider): issue the code to be read out instead."""


class BadPhone(codes.TracingError):
    """Not a mobile number a text can go to; the message says which kind of wrong, never the number."""


@dataclass
class Tracing:
    """What the tracing endpoints, command and job share."""

    pseudonyms: Pseudonymizer
    keyring: KeyRing
    keystore: KeyStore
    tokens: TokenIssuer
    code_rules: codes.CodeRules
    export_rules: ExportRules
    # Loaded on first use: only the process that builds exports needs the signing key.
    export_signer: Callable[[], ec.EllipticCurvePrivateKey]
    clock_skew: dt.timedelta
    # How long export files are kept (retention policy of export_batches): caches stop before.
    files_kept: dt.timedelta
    # When exchanges and uploads are answered, real and fake alike (service.tracing.chaff).
    exchange_clock: ResponseClock
    upload_clock: ResponseClock


@dataclass(frozen=True)
class Issuing:
    """What a pharmacy's counter shows before issuing: whether it may, and how many codes are left today."""

    permitted: bool
    left_today: int
    per_day: int


def issuing(session: Session, tracing: Tracing, organisation_id: uuid.UUID, *, now: dt.datetime) -> Issuing:
    """Whether the organisation may issue codes (as codes.issue_code decides) and its codes left this UTC day."""
    per_day = tracing.code_rules.per_day
    permitted = codes.may_issue(session.get(Organisation, organisation_id))
    left = max(0, per_day - codes.codes_issued(session, organisation_id, now=now)) if permitted else 0
    return Issuing(permitted, left, per_day)


def exchange(session: Session, tracing: Tracing, code: str, *, now: dt.datetime) -> tuple[str, dt.datetime]:
    """Redeem a code for an upload token (codes.redeem's errors propagate)."""
    onset = codes.redeem(session, tracing.pseudonyms, code, now=now, rules=tracing.code_rules)
    return tracing.tokens.issue(onset, now)


def fake_exchange(session: Session, tracing: Tracing, *, now: dt.datetime) -> tuple[str, dt.datetime]:
    """What a fake exchange gets: a decoy token, or TooManyFailures as a real exchange would get
    now. Reads only: nothing a fake does is counted or stored."""
    exhausted = codes.failures_exhausted(session, now=now, rules=tracing.code_rules)
    if exhausted is not None:
        raise codes.TooManyFailures(exhausted)
    return tracing.tokens.decoy(now)


def upload(
    session: Session, tracing: Tracing, token: str, uploaded: Sequence[uploads.UploadedKey], *, now: dt.datetime
) -> uploads.Accepted:
    """Store the keys of a valid upload and spend its token, in the caller's transaction.

    Order: the token (InvalidToken), then the keys (InvalidKeys, which leaves the token unspent),
    then the token's one-time id (ReplayedToken).
    """
    claims = tracing.tokens.verify(token, now)
    accepted = uploads.validate(uploaded, claims.onset, now=now, skew=tracing.clock_skew)
    # ON CONFLICT DO NOTHING rather than a failed insert: a replay leaves no constraint error
    # (with the id's hash in it) in the database server's log.
    claimed = session.execute(
        upsert_insert(session.get_bind().dialect.name)(UsedToken)
        .values(jti_hash=claims.jti_hash, expires_at=uploads.next_hour(claims.expires_at))
        .on_conflict_do_nothing(index_elements=[UsedToken.jti_hash])
        .returning(UsedToken.jti_hash)  # a row back only if inserted (rowcount differs by driver)
    ).first()
    if claimed is None:
        raise ReplayedToken()
    uploads.store(session, tracing.keyring, tracing.keystore, accepted, now=now)
    return accepted


def check_fake_upload(tracing: Tracing, uploaded: Sequence[uploads.UploadedKey], *, now: dt.datetime) -> uploads.Accepted:
    """What a fake upload gets: the same validation, nothing stored."""
    today = now.astimezone(dt.timezone.utc).date()
    return uploads.validate(uploaded, codes.Onset("test", today), now=now, skew=tracing.clock_skew)


def issue_code_by_sms(
    session: Session, state: Any, organisation_id: uuid.UUID, onset: codes.Onset, *, phone: str, language: str,
    now: dt.datetime,
) -> tuple[VerificationCode, uuid.UUID]:
    """Issue a code and queue its text to `phone` in the caller's transaction; the code's record and
    the outbox row to send once the caller has committed (service.sms.services.send_now).

    Errors, in this order: NoSms and BadPhone before anything is written, then codes.issue_code's
    (BadOnset, NotPermitted, QuotaExceeded: the caller rolls back), then whatever the outbox raises
    (the caller rolls back, so no code is issued that no text carries). The number goes only into
    the outbox's sealed row, the code only into the sealed text and its keyed hash.
    """
    if not sms.available(state):
        raise NoSms()
    try:
        to = sms.mobile_number(phone)
    except sms.BadNumber as error:
        raise BadPhone(str(error)) from None
    record, code = codes.issue_code(session, state.pseudonyms, organisation_id, onset, now=now,
                                    rules=state.tracing.code_rules)
    text = sms_text.code_text(code, record.expires_at, language, now=now)
    # A code's text is not sent once the code has expired: the outbox drops it then.
    return record, sms.queue_text(session, state, to=to, text=text, purpose="code", now=now, expires_at=record.expires_at)


def delivery(done: Delivery) -> str:
    """How the one text of a send_now fared: "sent", "failed" (refused for good) or "queued" (retried later)."""
    if done.sent:
        return "sent"
    if done.failed:
        return "failed"
    return "queued"
