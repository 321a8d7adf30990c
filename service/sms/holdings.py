"""What the SMS channel stores, for retention (its reports are the reports domain's `sms_reports`)."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.sms.models import AlertSubscription, SmsCount, SmsMessage, SmsOutbox, SmsSender

HOLDINGS: tuple[Holding, ...] = (
    Holding("sms_senders", "main", SmsSender.__table__, SmsSender.__table__.c.day,  # type: ignore[arg-type]
            "the start of the UTC day counted (the day's pseudonym key is destroyed with it)",
            frozenset({Expiry.SHRED, Expiry.DELETE})),
    Holding("sms_message_ids", "main", SmsMessage.__table__, SmsMessage.__table__.c.day,  # type: ignore[arg-type]
            "the start of the UTC day the message arrived", frozenset({Expiry.DELETE})),
    Holding("sms_outbox", "main", SmsOutbox.__table__, SmsOutbox.__table__.c.epoch,  # type: ignore[arg-type]
            "the start of the UTC day the text was queued (the outbox deletes it far sooner: SMS_OUTBOX_HOURS)",
            frozenset({Expiry.SHRED, Expiry.DELETE})),
    Holding("sms_counts", "main", SmsCount.__table__, SmsCount.__table__.c.day,  # type: ignore[arg-type]
            "the start of the UTC day counted", frozenset({Expiry.DELETE})),
    Holding("alert_subscriptions", "main", AlertSubscription.__table__, AlertSubscription.__table__.c.epoch,  # type: ignore[arg-type]
            "the start of the UTC day the subscription was made", frozenset({Expiry.SHRED, Expiry.DELETE})),
)
