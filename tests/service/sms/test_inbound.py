"""Inbound texts through the providers' real webhooks (the emulator signs them): reports, replies,
replays, bad signatures, flood control."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from service.reports.models import Report
from service.sms.models import SmsCount, SmsMessage, SmsOutbox, SmsSender

RESIDENT = "+32470000001"
GROTE_MARKT = (51.0282, 4.4800)  # where the default SMS file counts 2800 and the municipal number
MUNICIPAL = "+3215000000"


def _text(emulator, text: str, *, sender: str = RESIDENT, provider: str = "twilio", **options) -> dict:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{emulator.server_address[1]}/emulator/inbound"
    answer = httpx.post(url, json={"from": sender, "to": MUNICIPAL, "text": text, "provider": provider, **options}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _reports(db_engine) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(Report.channel, Report.category, Report.area))]


def _count(db_engine, outcome: str) -> int:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.sum(SmsCount.n), 0)).where(SmsCount.outcome == outcome)).scalar_one())


def _replies(emulator, wait_for, n: int) -> list[dict]:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{emulator.server_address[1]}/emulator/messages"
    wait_for(lambda: len(httpx.get(url, timeout=5).json()) >= n, f"{n} replies at the emulator")
    return httpx.get(url, timeout=5).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
def test_a_keyword_becomes_a_report_in_its_category_and_area_and_gets_its_reply(
    app, emulator, db_engine, wait_for, provider: str
) -> None:  # type: ignore[no-untyped-def]
    answer = _text(emulator, "HULP 2800 mijn buurvrouw heeft geen eten meer", provider=provider)
    assert answer["status"] == 200
    centre = app.extensions["safesignal"].areas.resolve(*GROTE_MARKT)
    assert _reports(db_engine) == [("sms", "sms_help_request", centre)]
    (reply,) = _replies(emulator, wait_for, 1)
    assert reply["provider"] == provider and reply["from"].lstrip("+") == MUNICIPAL.lstrip("+")
    assert reply["to"].lstrip("+") == RESIDENT.lstrip("+")
    # Delivered: the provider's receipt removed the text from the outbox.
    wait_for(lambda: _count(db_engine, "delivered") == 1, "the delivery receipt")
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SmsOutbox)).scalar_one() == 0


def test_a_replayed_message_is_acknowledged_and_stored_once(emulator, db_engine, wait_for) -> None:  # type: ignore[no-untyped-def]
    first = _text(emulator, "HELP 2800")
    again = _text(emulator, "HELP 2800", message_id=first["message_id"])
    assert again["status"] == 200
    assert len(_reports(db_engine)) == 1
    assert _count(db_engine, "replayed") == 1
    _replies(emulator, wait_for, 1)
    with db_engine.connect() as connection:
        assert connection.execute(select(func.sum(SmsSender.messages))).scalar_one() == 1


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
def test_a_bad_signature_is_refused_and_stores_nothing(emulator, db_engine, provider: str) -> None:  # type: ignore[no-untyped-def]
    answer = _text(emulator, "HULP 2800", provider=provider, bad_signature=True)
    assert answer["status"] == 403
    assert _reports(db_engine) == []
    with db_engine.connect() as connection:
        for table in (SmsMessage, SmsSender, SmsCount, SmsOutbox):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_a_webhook_without_signature_gets_403(live, client) -> None:  # type: ignore[no-untyped-def]
    answer = client.post("/v1/sms/twilio/inbound", data={"From": RESIDENT, "To": MUNICIPAL, "Body": "HULP", "MessageSid": "SM1"})
    assert answer.status_code == 403
    assert answer.get_json()["code"] == 403
    assert RESIDENT not in answer.get_data(as_text=True)


def test_a_flood_from_one_number_is_throttled_and_counted(app_with, emulator, db_engine, wait_for) -> None:  # type: ignore[no-untyped-def]
    limit = emulator and 10  # SMS_MESSAGES_PER_DAY's default
    for _ in range(limit + 3):
        _text(emulator, "HULP 2800")
    assert len(_reports(db_engine)) == limit
    assert _count(db_engine, "throttled") == 3
    # Another number is not throttled.
    _text(emulator, "HULP 2800", sender="+32470000002")
    assert len(_reports(db_engine)) == limit + 1
    # Replies are capped per number and day (SMS_REPLIES_PER_DAY, 3): a spoofed sender cannot make a spammer of us.
    assert _count(db_engine, "replied") == 4
    assert _count(db_engine, "reply_capped") == limit - 3


def test_masker19_gets_no_reply(emulator, db_engine, wait_for) -> None:  # type: ignore[no-untyped-def]
    _text(emulator, "masker 19")
    _text(emulator, "HELP 2800", sender="+32470000003")
    replies = _replies(emulator, wait_for, 1)
    assert [r["to"].lstrip("+") for r in replies] == ["32470000003"]
    assert sorted(r[1] for r in _reports(db_engine)) == ["dv_mask19", "sms_help_request"]


def test_unknown_provider_path_is_404(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/v1/sms/whatsapp/inbound", data={}).status_code == 404


def _signed_twilio(app, client, fields: dict[str, str], path: str = "/v1/sms/twilio/inbound"):  # type: ignore[no-untyped-def]
    from service.sms.gateways import twilio_signature

    sms = app.extensions["safesignal"].sms
    signature = twilio_signature(sms.settings["SMS_TWILIO_AUTH_TOKEN"], sms.webhook_url + path,
                                 {key: [value] for key, value in fields.items()})
    return client.post(path, data=fields, headers={"X-Twilio-Signature": signature})


def test_a_signed_webhook_with_missing_fields_gets_422_without_echo(app, client, db_engine) -> None:  # type: ignore[no-untyped-def]
    answer = _signed_twilio(app, client, {"From": RESIDENT, "To": MUNICIPAL, "Body": "HULP 2800 bel 0470 99 88 77"})
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "MessageSid" in body and RESIDENT not in body and "0470" not in body and "HULP" not in body
    assert _reports(db_engine) == []


def test_past_the_rate_guard_webhooks_get_429_before_anything_is_read(app_with, db_engine) -> None:  # type: ignore[no-untyped-def]
    app = app_with(SMS_INBOUND_PER_MINUTE=2)
    client = app.test_client()
    answers = [_signed_twilio(app, client, {"From": RESIDENT, "To": MUNICIPAL, "Body": "HULP", "MessageSid": f"SM{i:032x}"})
               for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert len(_reports(db_engine)) == 2


def test_a_text_to_an_unknown_number_without_a_known_postcode_is_counted_as_refused(app, client, db_engine) -> None:  # type: ignore[no-untyped-def]
    answer = _signed_twilio(app, client, {"From": RESIDENT, "To": "+3233000000", "Body": "HULP", "MessageSid": "SM" + "1" * 32})
    assert answer.status_code == 200  # the provider must not retry it
    assert _reports(db_engine) == [] and _count(db_engine, "refused") == 1
    answer = _signed_twilio(app, client, {"From": RESIDENT, "To": "+3233000000", "Body": "HULP 2812", "MessageSid": "SM" + "2" * 32})
    assert [r[1] for r in _reports(db_engine)] == ["sms_help_request"]  # a known postcode places it


def test_the_same_webhook_twice_at_once_stores_one_report_and_one_reply(app, live, emulator, db_engine, wait_for) -> None:  # type: ignore[no-untyped-def]
    import threading

    from service.sms.gateways import twilio_signature

    sms = app.extensions["safesignal"].sms
    path = "/v1/sms/twilio/inbound"
    for i in range(5):  # five messages, each delivered twice at the same moment
        fields = {"From": f"+3247000010{i}", "To": MUNICIPAL, "Body": "HULP 2800", "MessageSid": f"SM{i:032x}"}
        signature = twilio_signature(sms.settings["SMS_TWILIO_AUTH_TOKEN"], sms.webhook_url + path,
                                     {key: [value] for key, value in fields.items()})
        start = threading.Barrier(2)
        answers: list[int] = []

        def deliver() -> None:
            start.wait()
            answers.append(httpx.post(live + path, data=fields, headers={"X-Twilio-Signature": signature}, timeout=30).status_code)

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [200, 200]
    assert len(_reports(db_engine)) == 5
    assert (_count(db_engine, "reported"), _count(db_engine, "replayed"), _count(db_engine, "replied")) == (5, 5, 5)
    assert len(_replies(emulator, wait_for, 5)) == 5
