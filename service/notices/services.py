"""Alert subscriptions: where a prevention service asked to be told that a week has a flagged alert.

Subscribing is consent to spending: the notices job opens each newly released week for the
organisation (as reading its alerts would: the tested week and the baseline weeks it has not opened
yet, each charged once to its quarter) and tests it at the default levels. The contact (an SMS
number in E.164 or an e-mail address) is sealed under the day's `alert_subscriptions` data key,
bound to its row; it is opened only to send a notice and is never returned, logged or audited.
A subscription ends when its organisation deletes it, or when retention shreds the day's key and
deletes the row (`expires_at`).

Errors name the kind of problem, never the number or address (they reach responses and logs).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.envelope import associated_data
from service.people.mail import smtp_configured
from service.signals import services as signals
from service.people.services import valid_email
from service.sms import services as sms
from service.sms.models import AlertSubscription

DATA_CLASS = "alert_subscriptions"
MEDIA = ("sms", "email")
# Each subscription opens nothing more than one would, but each sends its own notice: a few
# people or a shared inbox are enough, and the cap keeps the table from being an address book.
MAX_PER_ORGANISATION = 5
# The level a notice tests at: the API's and the dashboard's default.
GEO, TAXONOMY = "district", "category"


class NoticesError(Exception):
    """A subscription request that cannot be served; subclasses say what the caller can do."""


class MediumUnavailable(NoticesError):
    """This deployment does not send by this medium (no SMS provider, no SMTP server)."""


class BadContact(NoticesError):
    """Not a number a text can go to, or not an e-mail address; the message never repeats it."""


class TooMany(NoticesError):
    """The organisation has MAX_PER_ORGANISATION subscriptions already."""


class UnknownSubscription(NoticesError):
    """No subscription of this organisation has this id (another organisation's is not named)."""


@dataclass(frozen=True)
class Subscription:
    """A subscription as its organisation sees it: never the contact."""

    id: uuid.UUID
    medium: str
    created_at: dt.datetime
    expires_at: dt.datetime
    notified_week: dt.date | None


def aad(row_id: uuid.UUID) -> bytes:
    return associated_data(AlertSubscription.__tablename__, row_id.bytes)


def available_media(state: Any) -> tuple[str, ...]:
    """The media this deployment can send notices by, in MEDIA's order."""
    usable = {"sms": sms.available(state), "email": smtp_configured(state.notices.mail)}
    return tuple(medium for medium in MEDIA if usable[medium])


def expires_at(state: Any, epoch: dt.date) -> dt.datetime:
    """When retention removes a subscription made on `epoch` (its policy's period from that UTC day)."""
    days = state.policies[DATA_CLASS].period_days
    return dt.datetime.combine(epoch, dt.time(), tzinfo=dt.timezone.utc) + dt.timedelta(days=days)


def _seen(state: Any, row: AlertSubscription) -> Subscription:
    return Subscription(row.id, row.medium, row.created_at, expires_at(state, row.epoch), row.notified_week)


def contact(medium: str, text: str) -> str:
    """The contact as it is stored: an SMS number in E.164, an e-mail address trimmed; or BadContact."""
    if medium == "sms":
        try:
            return sms.mobile_number(text)
        except sms.BadNumber as error:
            raise BadContact(str(error)) from None
    if not isinstance(text, str) or not valid_email(text):
        raise BadContact("Not an e-mail address.")
    return text.strip()


def subscribe(session: Session, state: Any, organisation_id: uuid.UUID, medium: str, text: str, now: dt.datetime,
              actor: str) -> Subscription:
    """Add a subscription in the caller's transaction (audited by id only).

    Checked in this order: the medium (MediumUnavailable), the contact (BadContact), the cap (TooMany).
    """
    if medium not in MEDIA or medium not in available_media(state):
        raise MediumUnavailable(
            "Notices by SMS are not available: this deployment sends no texts." if medium == "sms" else
            "Notices by e-mail are not available: this deployment has no SMTP server (SAFESIGNAL_SMTP_HOST)."
            if medium == "email" else "The medium must be sms or email.")
    stored = contact(medium, text)
    # One decision at a time per organisation, as open_week takes it (PostgreSQL locks the row).
    from service.partners.models import Organisation

    session.execute(select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())
    held = session.scalar(select(func.count()).select_from(AlertSubscription)
                          .where(AlertSubscription.organisation_id == organisation_id))
    if held >= MAX_PER_ORGANISATION:
        raise TooMany(f"An organisation may have at most {MAX_PER_ORGANISATION} alert subscriptions; delete one first.")
    row_id = uuid.uuid4()
    epoch = now.astimezone(dt.timezone.utc).date()
    sealed = state.keyring.encrypt(state.keystore, DATA_CLASS, epoch, stored.encode(), aad(row_id))
    row = AlertSubscription(id=row_id, organisation_id=organisation_id, medium=medium, contact=sealed, epoch=epoch,
                            created_at=now, notified_week=None)
    session.add(row)
    session.flush()
    state.audit(session.connection(), "alert_subscription.created", actor,
                subscription_id=str(row_id), organisation_id=str(organisation_id), medium=medium)
    return _seen(state, row)


def subscriptions(session: Session, state: Any, organisation_id: uuid.UUID) -> list[Subscription]:
    """The organisation's subscriptions, oldest first."""
    rows = session.scalars(select(AlertSubscription).where(AlertSubscription.organisation_id == organisation_id)
                           .order_by(AlertSubscription.created_at, AlertSubscription.id))
    return [_seen(state, row) for row in rows]


def unsubscribe(session: Session, state: Any, organisation_id: uuid.UUID, subscription_id: uuid.UUID, actor: str) -> None:
    """Delete one of the organisation's subscriptions in the caller's transaction (audited), or UnknownSubscription."""
    row = session.get(AlertSubscription, subscription_id)
    if row is None or row.organisation_id != organisation_id:
        raise UnknownSubscription("No alert subscription of your organisation has this id.")
    session.delete(row)
    session.flush()
    state.audit(session.connection(), "alert_subscription.deleted", actor,
                subscription_id=str(subscription_id), organisation_id=str(organisation_id))


def opened_contact(state: Any, row: AlertSubscription) -> str:
    """The row's number or address (crypto's one error if its key is gone or the row was tampered with)."""
    return state.keyring.decrypt(state.keystore, row.contact, aad(row.id)).decode()  # type: ignore[no-any-return]


def newest_released_week(state: Any, now: dt.datetime) -> dt.date:
    """The newest week whose release time has passed."""
    rules = state.signals.rules
    week = rules.weeks.week_of(now)
    while signals.release_at(week, rules) > now:
        week -= dt.timedelta(days=7)
    return week  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Price:
    """What subscribing spends: each new week's epsilon, and what the first test would take now."""

    per_week: float  # a release's epsilon: a new week costs this once, the baseline weeks being open already
    first: float  # the newest released week and its baseline weeks not opened yet, today
    first_weeks: int


def price(session: Session, state: Any, organisation_id: uuid.UUID, now: dt.datetime) -> Price:
    """What subscribing would spend of the organisation's budget (reads only)."""
    week = newest_released_week(state, now)
    found = signals.charges(session, state.signals, organisation_id, signals.baseline_weeks(week, state.signals.rules), now)
    return Price(state.signals.rules.protection.epsilon, round(sum(c.epsilon for c in found), 6), len(found))
