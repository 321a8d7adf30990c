"""The notices job: each newly released week, tested once per subscription, and one notice if flagged.

For each subscription whose `notified_week` is before the newest released week (the newest week
whose release time has passed), the week is opened for the subscribing organisation and tested
for alerts exactly as `GET /v1/signals/weeks/<week>/alerts` at the default levels would (the
signals' own services, audited with the actor "notice:<subscription id>"): the tested week and
the baseline weeks the organisation has not opened yet are charged once each. Only the newest
week is tested: a subscription made today does not open the weeks before it.

A week that cannot be opened (not released, the quarter's budget spent, no territory) is skipped,
logged by kind, and counts as tested: it is not tried again. When something is flagged, ONE
notice goes out: an SMS is queued in the outbox in the same transaction that records the week
(so a second scheduler, or a crash, never queues it twice) and tried at once; an e-mail is sent
once the week is recorded, and if the SMTP server refuses it the record is undone, so that the
next run sends it again (testing again costs nothing: the weeks are open). Each subscription is
handled in its own transactions: one failing never holds back the others.

Nothing here logs a contact, a text or what the alert was; failures are logged by their kind.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from service.notices import services
from service.notices.services import newest_released_week
from service.notices.texts import notice_line, notice_mail
from service.people.mail import MailError, send_smtp, smtp_configured
from service.signals import publication
from service.signals import services as signals
from service.signals.weeks import week_label
from service.sms import services as sms
from service.sms.models import AlertSubscription

log = logging.getLogger(__name__)


@dataclass
class Run:
    """What one run did."""

    tested: int = 0  # weeks tested (flagged or not)
    sent: int = 0  # notices queued (SMS) or sent (e-mail)
    skipped: int = 0  # weeks that could not be opened, or a medium no longer configured
    failed: int = 0  # notices that could not go out (tried again next run for e-mail)


def actor_of(subscription_id: uuid.UUID) -> str:
    return f"notice:{subscription_id}"


def _waiting(week: dt.date):  # type: ignore[no-untyped-def]
    return or_(AlertSubscription.notified_week.is_(None), AlertSubscription.notified_week < week)


def run_notices(state: Any) -> Run:
    """One run of the job (the scheduler's, every NOTICES_INTERVAL_MINUTES)."""
    done = Run()
    week = newest_released_week(state, state.clock())
    with state.sessions() as session:
        ids = list(session.scalars(select(AlertSubscription.id).where(_waiting(week)).order_by(AlertSubscription.created_at)))
        session.commit()
    for subscription_id in ids:
        try:
            notify(state, subscription_id, week, done)
        except Exception:  # noqa: BLE001 - one subscription must not stop the others; the kind only
            log.exception("notice: a subscription could not be handled; tried again next run")
            done.failed += 1
    return done


def notify(state: Any, subscription_id: uuid.UUID, week: dt.date, done: Run) -> None:
    """Test `week` for one subscription and send its notice if something is flagged."""
    actor = actor_of(subscription_id)
    with state.sessions() as session:
        row = session.get(AlertSubscription, subscription_id)
        if row is None or (row.notified_week is not None and row.notified_week >= week):
            return
        organisation_id, medium, previous = row.organisation_id, row.medium, row.notified_week
        session.rollback()
        try:
            result = publication.open_weeks(
                state, tuple(signals.baseline_weeks(week, state.signals.rules)), session,
                lambda: signals.alerts(session, state.signals, organisation_id, week, services.GEO, services.TAXONOMY,
                                       state.clock(), state.audit, actor),
                actor=actor,
            )
            flagged = result.flagged
        except signals.SignalsError as error:
            session.rollback()
            log.info("notice: week %s not tested for a subscription: %s", week_label(week), type(error).__name__)
            done.skipped += 1
            flagged = 0
        done.tested += 1
        if flagged == 0:
            _record(session, subscription_id, week)
            session.commit()
            return
        if medium == "sms":
            _notify_by_sms(state, session, subscription_id, week, done)
        else:
            _notify_by_mail(state, session, subscription_id, week, previous, done)


def _record(session: Session, subscription_id: uuid.UUID, week: dt.date) -> bool:
    """Record the week as told for this subscription, unless another run did; whether this one did."""
    table = AlertSubscription.__table__
    claimed = session.execute(
        update(table).where(table.c.id == subscription_id, _waiting(week)).values(notified_week=week)
    ).rowcount
    return claimed == 1  # type: ignore[no-any-return]


def _contact(state: Any, session: Session, subscription_id: uuid.UUID) -> str | None:
    row = session.get(AlertSubscription, subscription_id)
    try:
        return services.opened_contact(state, row) if row is not None else None
    except CryptoError as error:
        # Its day's key shredded (retention deletes the row next) or the row tampered with.
        log.warning("notice: a subscription's contact cannot be opened (%s); nothing sent", type(error).__name__)
        return None


def _notify_by_sms(state: Any, session: Session, subscription_id: uuid.UUID, week: dt.date, done: Run) -> None:
    if not _record(session, subscription_id, week):
        session.rollback()
        return
    to = _contact(state, session, subscription_id)
    if to is None or not sms.available(state):
        if to is not None:
            log.warning("notice: SMS is no longer configured here; a notice was not sent")
        session.commit()
        done.skipped += 1
        return
    language = state.sms.file.default_language
    queued = sms.queue_text(session, state, to=to, text=notice_line(language, week, state.notices.public_url),
                            purpose="notice", now=state.clock())
    session.commit()
    done.sent += 1
    delivery = sms.send_now(state, [queued])
    if delivery.failed:
        log.warning("notice: an SMS notice could not be sent")


def _notify_by_mail(state: Any, session: Session, subscription_id: uuid.UUID, week: dt.date,
                    previous: dt.date | None, done: Run) -> None:
    if not _record(session, subscription_id, week):
        session.rollback()
        return
    to = _contact(state, session, subscription_id)
    session.commit()
    settings = state.notices.mail
    if to is None or not smtp_configured(settings):
        if to is not None:
            log.warning("notice: SMTP is no longer configured here; a notice was not sent")
        done.skipped += 1
        return
    try:
        message = notice_mail(settings, to, week, state.notices.public_url, state.clock())
        send_smtp(settings, message)
    except (MailError, ValueError) as error:
        # MailError names the kind of failure only; a ValueError (the header) quotes the address.
        log.warning("notice: an e-mail notice was not sent (%s); tried again next run",
                    str(error) if isinstance(error, MailError) else type(error).__name__)
        table = AlertSubscription.__table__
        session.execute(update(table).where(table.c.id == subscription_id, table.c.notified_week == week)
                        .values(notified_week=previous))
        session.commit()
        done.failed += 1
        return
    done.sent += 1
