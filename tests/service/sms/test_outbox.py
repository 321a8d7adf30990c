"""The outbox against the emulator: retries with backoff, receipts, expiry, nothing in clear."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select

from service.sms import outbox, services
from service.sms.jobs import run_outbox
from service.sms.models import SmsCount, SmsOutbox

PHONE = "+32470123456"


def _queue(state, text: str = "safesignal: test") -> None:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        services.queue_text(session, state, to=PHONE, text=text, purpose="code", now=state.clock())
        session.commit()


def _rows(state) -> list[SmsOutbox]:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        return list(session.scalars(select(SmsOutbox)))


def _count(state, outcome: str) -> int:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        return int(session.execute(select(func.coalesce(func.sum(SmsCount.n), 0)).where(SmsCount.outcome == outcome)).scalar_one())


def _inbox(emulator) -> list[dict]:  # type: ignore[no-untyped-def]
    return httpx.get(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/messages", timeout=5).json()  # type: ignore[no-any-return]


def test_a_queued_text_is_sealed_and_sent_once(app, emulator, wait_for) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    _queue(state, "safesignal: uw code is 1234 5678 9012")
    (row,) = _rows(state)
    assert PHONE.encode() not in row.payload and b"1234" not in row.payload  # sealed together
    assert run_outbox(state).sent == 1
    assert run_outbox(state).sent == 0  # sent once: the row now waits for its receipt
    (message,) = _inbox(emulator)
    assert (message["to"], message["text"]) == (PHONE, "safesignal: uw code is 1234 5678 9012")
    wait_for(lambda: not _rows(state), "the delivery receipt to delete the row")
    assert _count(state, "delivered") == 1


def test_a_provider_failure_is_retried_with_backoff_then_sent(app, emulator, clock) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    httpx.post(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/fail", json={"count": 2, "status": 503}, timeout=5)
    _queue(state)
    assert run_outbox(state).retrying == 1
    (row,) = _rows(state)
    assert row.attempts == 1 and row.next_attempt_at > clock()
    assert run_outbox(state).sent == 0  # not due yet
    clock.advance(seconds=31)
    assert run_outbox(state).retrying == 1
    (row,) = _rows(state)
    wait = row.next_attempt_at - clock()
    assert dt.timedelta(seconds=30) <= wait <= dt.timedelta(seconds=60)  # doubled, jittered
    clock.advance(seconds=61)
    assert run_outbox(state).sent == 1
    assert len(_inbox(emulator)) == 1 and _count(state, "send_retry") == 2


def test_a_refused_text_is_given_up_and_deleted(app, emulator) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    httpx.post(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/fail", json={"count": 1, "status": 400}, timeout=5)
    _queue(state)
    assert run_outbox(state).failed == 1
    assert _rows(state) == [] and _count(state, "send_failed") == 1


def test_whatever_happens_a_text_is_gone_after_the_outbox_hours(app, emulator, clock) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    httpx.post(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/fail", json={"count": 100, "status": 503}, timeout=5)
    _queue(state)
    for _ in range(3):
        run_outbox(state)
        clock.advance(minutes=30)
    assert len(_rows(state)) == 1
    clock.advance(hours=state.sms.outbox_rules.ttl.total_seconds() / 3600)
    run_outbox(state)
    assert _rows(state) == [] and _count(state, "expired") == 1


def test_a_failed_receipt_sends_again(app, emulator, clock) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    _queue(state)
    (row_id,) = [row.id for row in _rows(state)]
    # The provider accepted it, then reports it undelivered (a phone switched off).
    with state.sessions() as session:
        row = session.get(SmsOutbox, row_id)
        row.provider_ref = outbox.provider_ref(state.pseudonyms, "twilio", "SMfailed")
        row.attempts = 1
        session.commit()
        assert outbox.receipt(session, state.pseudonyms, "twilio", "SMfailed", "failed", clock(), state.sms.outbox_rules) == "retrying"
        session.commit()
    (row,) = _rows(state)
    assert row.provider_ref is None and row.next_attempt_at > clock()
    clock.advance(minutes=1)
    assert run_outbox(state).sent == 1
    # An unknown receipt (delivered and deleted already, or not ours) changes nothing.
    with state.sessions() as session:
        assert outbox.receipt(session, state.pseudonyms, "twilio", "SMunknown", "delivered", clock(), state.sms.outbox_rules) == "unknown"


def test_a_bad_number_is_refused_without_echo() -> None:
    import pytest

    for typed in ("015 00 00 00", "hello", "+32 470", "0470 12 34 56 78 90 12 34 56 78 90 12 34", "<script>0470123456"):
        with pytest.raises(services.BadNumber) as caught:
            services.mobile_number(typed)
        assert "0470" not in str(caught.value) and "015" not in str(caught.value)
    assert services.mobile_number("0470 12 34 56") == "+32470123456"
    assert services.mobile_number("0032 470 12 34 56") == "+32470123456"
    assert services.mobile_number("+31 6 12345678") == "+31612345678"


def test_a_text_that_means_nothing_after_a_moment_is_dropped_then(app, emulator, clock) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    httpx.post(f"http://127.0.0.1:{emulator.server_address[1]}/emulator/fail", json={"count": 100, "status": 503}, timeout=5)
    with state.sessions() as session:
        services.queue_text(session, state, to=PHONE, text="code", purpose="code", now=clock(),
                            expires_at=clock() + dt.timedelta(minutes=60))
        session.commit()
    run_outbox(state)
    clock.advance(minutes=60)
    run_outbox(state)
    assert _rows(state) == [] and _count(state, "expired") == 1 and _inbox(emulator) == []
