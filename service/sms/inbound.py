"""One inbound text: refuse a replay, count the sender, make the report, queue the reply.

The sender's number is used here and nowhere else, in memory, for three things:
- its pseudonym of the day, `HMAC(day key, "sms-sender" || E.164 number)` under a key derived from
  the day's `sms_senders` data key (crypto.keyring.KeyRing.pseudonymizer_for_epoch). It counts the
  day's texts (flood control), caps the day's replies, and is the report's reporter (the
  contribution cap). When the day is over, retention destroys the day's key: yesterday's
  pseudonyms cannot be computed again, so nobody can link yesterday's senders to today's;
- the reply, queued in the outbox with the number encrypted beside its text;
- nothing else: the number is in no log, no error, no audit entry, no column.

The text is read by the deployment's SMS file (service.sms.config): its keyword gives the
category (none recognised: the catch-all category, counted like any other), its postcode the area
(else the area of the number texted), and what remains is the report's note, screened by intake
like every note. The report goes through intake (service.reports.services.submit) like any
channel's, with a client id derived from the provider's message id: a webhook delivered twice,
even after a crash between the two commits below, stores one report.

Order of writes: intake commits the report on its own connection (group commit), so this
module's rows (the sender's count, the message id, the reply) are written after it, in the
caller's transaction. SQLite allows one writer at a time; nothing here holds a write while intake
writes.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import bindparam, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from database.base import upsert_insert
from service.reports.services import submit
from service.sms.channel import CHANNEL, Sender, SmsReport
from service.sms.counts import count
from service.sms.models import SmsMessage, SmsSender
from service.sms.outbox import enqueue

SENDERS_CLASS = "sms_senders"
SENDER_DOMAIN = "sms-sender"
MESSAGE_DOMAIN = "sms-message"
CLIENT_ID_DOMAIN = "sms-client-id"


@dataclass(frozen=True)
class Received:
    """What became of one text: its outcome and the reply queued (deliver it once committed)."""

    outcome: str  # reported | refused | throttled | replayed
    reply: uuid.UUID | None = None


def e164(number: str) -> str:
    """The number in E.164, the one form it is pseudonymised in (a provider may drop the '+')."""
    text = number.strip()
    if text and not text.startswith("+") and text.isdigit():
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, "BE")
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in text if ch.isalnum()) or "unknown"  # a short code or an alphanumeric sender
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def message_hash(pseudonyms: Any, provider: str, message_id: str) -> bytes:
    return pseudonyms.pseudonym(MESSAGE_DOMAIN, f"{provider}:{message_id}")


def _client_id(pseudonyms: Any, provider: str, message_id: str) -> str:
    digest = pseudonyms.pseudonym(CLIENT_ID_DOMAIN, f"{provider}:{message_id}")
    return base64.urlsafe_b64encode(digest[:24]).decode("ascii")


def sender_pseudonym(state: Any, number: str, day: dt.date) -> bytes:
    """The number's pseudonym of this UTC day (KeyDestroyedError once the day's key is gone)."""
    return state.keyring.pseudonymizer_for_epoch(state.keystore, SENDERS_CLASS, day).pseudonym(SENDER_DOMAIN, e164(number))


def receive(session: Session, reader: Session, state: Any, sms: Any, provider: str, message: Any,
            now: dt.datetime) -> Received:
    """Handle one verified inbound text (service.sms.gateways.Inbound); the caller commits `session`.

    `reader` is a read-only session (no write lock on SQLite) for what is looked up first. The
    writes come last and the counts last of all, so the rows every text shares (the day's counts)
    are locked only for the commit (PostgreSQL keeps a row locked until then).
    """
    day = now.astimezone(dt.timezone.utc).date()
    id_hash = message_hash(state.pseudonyms, provider, message.message_id)
    pseudonym = sender_pseudonym(state, message.sender, day)
    seen, messages, replies = reader.connection().execute(_LOOKUP, {"id_hash": id_hash, "pseudonym": pseudonym}).one()
    reader.rollback()
    if seen:
        count(session, day, provider, "replayed")
        return Received("replayed")
    messages += 1

    reading, text = None, None
    if messages > sms.rules.messages_per_day:
        outcome = "throttled"
    else:
        reading = sms.file.read(message.text)
        outcome = _report(state, sms, provider, message, reading, pseudonym, now)
        text = sms.file.reply_text(reading) if provider in sms.gateways else None
    capped = text is not None and replies >= sms.rules.replies_per_day
    replying = text is not None and not capped

    try:
        session.connection().execute(_MESSAGE, {"id_hash": id_hash, "day": day})  # the session's first write
    except IntegrityError:
        # The same message delivered twice at once, the other copy first: it counts and replies.
        session.rollback()
        count(session, day, provider, "replayed")
        return Received("replayed")
    _seen(session, pseudonym, day, replied=replying)
    reply = None
    if replying:
        # Claimed already: the view sends it once its answer is out; the scheduler only if that fails.
        reply = enqueue(session, state, provider=provider, to=e164(message.sender), sender=e164(message.recipient),
                        text=text, purpose="reply", now=now, rules=sms.outbox_rules, claimed=True)  # type: ignore[arg-type]
    count(session, day, provider, outcome, *(("replied",) if replying else ("reply_capped",) if capped else ()))
    return Received(outcome, reply)


def _report(state: Any, sms: Any, provider: str, message: Any, reading: Any, pseudonym: bytes, now: dt.datetime) -> str:
    area = sms.file.area(e164(message.recipient), reading.postcode)
    note = reading.note
    limit = state.intake.rules.note_max_length
    if note is not None and len(note) > limit:
        note = note[:limit]  # a long text is kept to the note's length; the report stands
    client_id = _client_id(state.pseudonyms, provider, message.message_id)
    reporter = CHANNEL.reporter(Sender(pseudonym, area))
    (result,) = submit(state.intake, CHANNEL, reporter, [SmsReport(reading.category, now, note, client_id)], now)
    if result.status == "rejected" and note is not None and set(result.errors or {}) == {"note"}:
        # A deployment that refuses notes with personal data (SAFESIGNAL_REDACT_FREE_TEXT=false):
        # the resident cannot be asked to resend, so the report is kept without its note.
        (result,) = submit(state.intake, CHANNEL, reporter, [SmsReport(reading.category, now, None, client_id)], now)
    # conflict: the same message id stored before with other content (a retry in another hour).
    return "refused" if result.status == "rejected" else "reported"


_MESSAGE = insert(SmsMessage.__table__).values(id_hash=bindparam("id_hash"), day=bindparam("day"))
# Whether the message was seen, and the sender's counts today, in one statement (compiled once).
_LOOKUP = select(
    exists().where(SmsMessage.__table__.c.id_hash == bindparam("id_hash")),
    func.coalesce(select(SmsSender.__table__.c.messages).where(SmsSender.__table__.c.pseudonym == bindparam("pseudonym"))
                  .scalar_subquery(), 0),
    func.coalesce(select(SmsSender.__table__.c.replies).where(SmsSender.__table__.c.pseudonym == bindparam("pseudonym"))
                  .scalar_subquery(), 0),
)


@functools.cache
def _seen_statement(dialect: str) -> Any:
    table = SmsSender.__table__
    return upsert_insert(dialect)(table).values(
        pseudonym=bindparam("pseudonym"), day=bindparam("day"), messages=1, replies=bindparam("replies"),
    ).on_conflict_do_update(
        index_elements=["pseudonym"],
        set_={"messages": table.c.messages + 1, "replies": table.c.replies + bindparam("replies")},
    )


def _seen(session: Session, pseudonym: bytes, day: dt.date, replied: bool) -> None:
    """Count one more text (and reply) of this sender today; one statement."""
    session.connection().execute(_seen_statement(session.get_bind().dialect.name),
                                 {"pseudonym": pseudonym, "day": day, "replies": int(replied)})


def senders_today(session: Session, day: dt.date) -> int:
    """How many distinct senders texted on `day` (for the operator's page)."""
    return len(session.scalars(select(SmsSender.pseudonym).where(SmsSender.day == day)).all())
