"""A day later, the previous day's sender key is destroyed: yesterday's senders cannot be linked to today's."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from crypto.errors import KeyDestroyedError
from service.reports.models import Report
from service.sms.inbound import SENDERS_CLASS, sender_pseudonym
from service.sms.models import SmsSender

RESIDENT = "+32470000001"


def _text(emulator, text: str, sender: str = RESIDENT) -> None:  # type: ignore[no-untyped-def]
    answer = httpx.post(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/inbound",
                        json={"from": sender, "to": "+3215000000", "text": text}, timeout=30)
    assert answer.json()["status"] == 200


def _reporters(db_engine) -> list[bytes]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return [bytes(r) for r in connection.execute(select(Report.reporter).order_by(Report.received_hour)).scalars()]


def test_the_day_key_is_destroyed_and_yesterdays_senders_are_unlinkable(app, emulator, clock, db_engine) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    clock.now = clock.now.replace(hour=21)  # the evening: the day ends in three hours
    yesterday = clock().date()
    _text(emulator, "HULP 2800")
    _text(emulator, "VOEDSEL 2800")
    with db_engine.connect() as connection:
        (row,) = connection.execute(select(SmsSender.pseudonym, SmsSender.day, SmsSender.messages)).all()
    assert row.day == yesterday and row.messages == 2
    # Within the day the sender is one reporter (the contribution cap sees one person) ...
    first, second = _reporters(db_engine)
    assert first == second
    assert bytes(row.pseudonym) == sender_pseudonym(state, RESIDENT, yesterday)

    clock.advance(hours=4)  # past midnight UTC
    today = clock().date()
    assert today == yesterday + dt.timedelta(days=1)
    outcome = state.retention.run(actor="test")
    senders = next(c for c in outcome.classes if c.data_class == "sms_senders")
    assert senders.keys_destroyed == 1 and senders.epochs == [yesterday.isoformat()]
    # The key is gone from the vault, and with it any way to compute yesterday's pseudonyms,
    # for this process and for anyone holding the database, the vault and every other key.
    assert state.keystore.by_epoch(SENDERS_CLASS, yesterday).destroyed
    with pytest.raises(KeyDestroyedError):
        sender_pseudonym(state, RESIDENT, yesterday)
    with db_engine.connect() as connection:
        assert connection.execute(select(SmsSender)).all() == []

    # ... and the next day the same number is someone else.
    _text(emulator, "HULP 2800")
    with db_engine.connect() as connection:
        (today_row,) = connection.execute(select(SmsSender.pseudonym, SmsSender.day, SmsSender.messages)).all()
    assert today_row.day == today and today_row.messages == 1  # flood control starts afresh
    assert bytes(today_row.pseudonym) != bytes(row.pseudonym)
    reporters = _reporters(db_engine)
    assert reporters[-1] != first
    # No column of today's rows equals one of yesterday's: the reports cannot be joined on a sender.
    assert set(reporters[:2]).isdisjoint({reporters[-1]})
