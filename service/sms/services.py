"""Sending a text from elsewhere in the service: a verification code, an alert notice.

Other domains queue a text here and never see the outbox's storage: `queue_text` seals the
number with the text in the caller's transaction, `send_now` tries it once the caller has
committed (the scheduler retries what fails). The number is checked and put in E.164 first; it is
used once, through the outbox, and kept nowhere else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import phonenumbers
from sqlalchemy.orm import Session

from service.sms import outbox


# What a typed number may hold: digits and the usual separators (phonenumbers alone would find a
# number inside any text, markup included).
_TYPED = set("0123456789+ ()-./")


class SmsUnavailable(Exception):
    """No provider sends texts in this deployment (SAFESIGNAL_SMS_PROVIDER unset)."""


class BadNumber(ValueError):
    """Not a mobile number a text can go to; the message never repeats the number."""


def available(state: Any) -> bool:
    """Whether texts can be sent here (the pages offer SMS only then)."""
    sms = getattr(state, "sms", None)
    return sms is not None and sms.file is not None and sms.outbound is not None and sms.sender is not None


def mobile_number(text: str, region: str = "BE") -> str:
    """The number as typed ("0470 12 34 56", "+32 470 ...", "0032470...") in E.164, or BadNumber."""
    if not isinstance(text, str) or not 6 <= len(text.strip()) <= 32 or not set(text.strip()) <= _TYPED:
        raise BadNumber("Not a phone number.")
    try:
        parsed = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        raise BadNumber("Not a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadNumber("Not a valid phone number.")
    if phonenumbers.number_type(parsed) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise BadNumber("Not a mobile number: a text cannot be sent to it.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def queue_text(session: Session, state: Any, *, to: str, text: str, purpose: str, now: dt.datetime,
               expires_at: dt.datetime | None = None) -> uuid.UUID:
    """Queue `text` to `to` (E.164, from mobile_number) in the caller's transaction. A text that
    means nothing after some moment (a verification code) gives it: the outbox drops it then, if
    that comes before SMS_OUTBOX_HOURS."""
    if not available(state):
        raise SmsUnavailable()
    sms = state.sms
    return outbox.enqueue(session, state, provider=sms.outbound, to=to, sender=sms.sender, text=text, purpose=purpose,
                          now=now, rules=sms.outbox_rules, expires_at=expires_at)


def send_now(state: Any, row_ids: list[uuid.UUID]) -> outbox.Delivery:
    """Try these queued texts now (after the caller committed); what failed waits for a retry."""
    sms = state.sms
    return outbox.deliver(state.sessions, state, sms.gateways, row_ids, status_url=sms.status_url, now=state.clock,
                          rules=sms.outbox_rules)
