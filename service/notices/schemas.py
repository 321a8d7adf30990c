"""Wire types of alert subscriptions: what is sent to make one, and what is shown of one (never the contact)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where to send notices: a mobile number for sms, an address for email."""

    medium: Annotated[Literal["sms", "email"], Meta(description="sms (where SMS is configured) or email (where SMTP is).")]
    contact: Annotated[str, Meta(min_length=1, max_length=320, description=(
        "A mobile number (Belgian numbers may be written nationally: 0470 12 34 56) or an e-mail address. "
        "Stored encrypted, never shown again."))]


class AlertSubscriptionOut(msgspec.Struct):
    """A subscription: its id, medium, when it was made and when retention removes it."""

    id: str
    medium: str
    created_at: str
    expires_at: str


class AlertSubscriptions(msgspec.Struct):
    """The organisation's subscriptions, oldest first."""

    subscriptions: list[AlertSubscriptionOut]


SCHEMAS = (SubscriptionIn, AlertSubscriptionOut, AlertSubscriptions)
