"""Verification codes sent by SMS through the API: the app and the provider (the emulator) each a real HTTP
server; the code read from the phone's inbox and redeemed by the app's exchange; the number nowhere
after (no table of either database, no log line, no answer); bad numbers, a deployment without SMS,
the quota and a refused send."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sms_support import NUMBER, dump_databases, live_sms, number_in, wait_for
from sqlalchemy import func, select
from support import Partners, bearer
from tracing_support import granted_pharmacy

from service.sms.models import SmsOutbox
from service.sms.text import GSM_7, encoding, segments
from service.tracing import sms_text
from service.tracing.models import CodeQuota, VerificationCode

PATH = "/v1/tracing/codes/sms"
_CODE = re.compile(r"\b(\d{4} \d{4} \d{4})\b")


@pytest.fixture
def live(app_with, tmp_path):  # type: ignore[no-untyped-def]
    with live_sms(app_with, tmp_path) as running:
        yield running


def _count(app, table) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)))


def _issue(live, token: str, **body):  # type: ignore[no-untyped-def]
    body = {"test_date": "2026-11-28", "phone": NUMBER, **body}
    return httpx.post(live.url + PATH, json=body, headers=bearer(token))


def _redeem(url: str, code: str) -> httpx.Response:
    return httpx.post(url + "/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"})


def test_a_code_sent_by_sms_reaches_the_phone_works_once_and_leaves_the_number_nowhere(live, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    _, token = granted_pharmacy(Partners(live.app))
    response = _issue(live, token, symptom_onset="2026-11-26", test_date=None, language="fr")
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    # No code in the answer: nobody at the counter needs to see it.
    assert response.json() == {"expires_at": "2026-11-29T11:17:30.123456Z", "onset_kind": "symptoms",
                               "onset_date": "2026-11-26", "delivery": "sent"}
    (message,) = live.messages()
    assert message["to"] == "+32470123456" and message["from"] == "+3215000000"
    # 11:17 UTC is 12:17 in Brussels (winter time).
    code = _CODE.search(message["text"]).group(1)  # type: ignore[union-attr]
    assert message["text"] == (f"safesignal : votre code de vérification est {code}, valable jusqu'à 12:17 (heure belge). "
                               "Entrez-le dans l'app.")
    assert code not in response.text and code.replace(" ", "") not in response.text
    # The delivery receipt comes back to the app's webhook and the text leaves the outbox.
    wait_for(lambda: _count(live.app, SmsOutbox) == 0)
    redeemed = _redeem(live.url, code)
    assert redeemed.status_code == 200 and redeemed.json()["token"]
    assert _redeem(live.url, code).status_code == 403
    assert number_in(dump_databases(live.app)) == []
    assert number_in(caplog.text) == []
    assert all(number_in(record.getMessage()) == [] and number_in(repr(record.args)) == [] for record in caplog.records)


def test_the_number_is_sealed_in_the_outbox_while_the_text_waits(live):  # type: ignore[no-untyped-def]
    _, token = granted_pharmacy(Partners(live.app))
    live.fail_next(1, 503)  # the provider is down for the first try: the text waits for the outbox job
    response = _issue(live, token)
    assert response.status_code == 201 and response.json()["delivery"] == "queued"
    assert live.messages() == []
    assert _count(live.app, SmsOutbox) == 1 and _count(live.app, VerificationCode) == 1
    assert number_in(dump_databases(live.app)) == []
    assert number_in(response.text) == []


def test_a_provider_that_refuses_for_good_is_said_as_failed(live):  # type: ignore[no-untyped-def]
    _, token = granted_pharmacy(Partners(live.app))
    live.fail_next(1, 400)  # Twilio refusing the message itself: not retried
    response = _issue(live, token)
    assert response.status_code == 201 and response.json()["delivery"] == "failed"
    assert _count(live.app, SmsOutbox) == 0


@pytest.mark.parametrize("phone", [
    "015 12 34 56",  # a landline: a text cannot go to it
    "+32 15 12 34 56",
    "not a number",
    "0470 12 34 5",  # a digit short
    "+32 470 12 34 56 78 90 12 34 56 7",  # too long for a number, within 32 characters
    "",
    "+32 470<script>alert(1)</script>",
])
def test_a_bad_number_gets_422_on_phone_without_echo_and_issues_nothing(live, phone, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    _, token = granted_pharmacy(Partners(live.app))
    response = _issue(live, token, phone=phone)
    assert response.status_code == 422
    body = response.json()
    assert set(body["errors"]["json"]) == {"phone"}
    for part in (phone, phone.replace(" ", ""), "script", "0470", "470 12", "15 12"):
        if part:
            assert part not in response.text, part
            assert part not in caplog.text, part
    assert _count(live.app, VerificationCode) == 0 and _count(live.app, CodeQuota) == 0
    assert _count(live.app, SmsOutbox) == 0 and live.messages() == []


def test_a_number_longer_than_32_characters_is_refused_by_the_schema(live):  # type: ignore[no-untyped-def]
    _, token = granted_pharmacy(Partners(live.app))
    phone = "0470 12 34 56" + " " * 20 + "<script>"
    response = _issue(live, token, phone=phone)
    assert response.status_code == 422 and set(response.json()["errors"]["json"]) == {"phone"}
    assert "script" not in response.text and "0470" not in response.text
    assert _count(live.app, VerificationCode) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"language": "es"}, "language"),
    ({"test_date": None}, "_schema"),
    ({"symptom_onset": "2026-11-27"}, "_schema"),
    ({"test_date": "2026-12-01"}, "test_date"),
    ({"name": "Jan Janssens"}, "name"),
])
def test_other_bad_fields_are_named_and_issue_nothing(live, body, field):  # type: ignore[no-untyped-def]
    _, token = granted_pharmacy(Partners(live.app))
    response = _issue(live, token, **body)
    assert response.status_code == 422 and field in response.json()["errors"]["json"], response.text
    assert "0470" not in response.text and "Jan" not in response.text
    assert _count(live.app, VerificationCode) == 0 and live.messages() == []


def test_without_an_sms_provider_the_answer_says_so_and_no_code_is_issued(app, client, partners):  # type: ignore[no-untyped-def]
    _, token = granted_pharmacy(partners)
    response = client.post(PATH, json={"test_date": "2026-11-28", "phone": NUMBER}, headers=bearer(token))
    assert response.status_code == 409
    body = response.get_json()
    assert "no SMS provider" in body["message"] and "POST /v1/tracing/codes" in body["message"]
    assert "0470" not in response.get_data(as_text=True)
    assert _count(app, VerificationCode) == 0 and _count(app, CodeQuota) == 0


def test_the_quota_is_the_one_of_codes_read_out(app_with, tmp_path):  # type: ignore[no-untyped-def]
    with live_sms(app_with, tmp_path, TRACING_CODES_PER_DAY=2) as live:
        _, token = granted_pharmacy(Partners(live.app))
        assert httpx.post(live.url + "/v1/tracing/codes", json={"test_date": "2026-11-28"},
                          headers=bearer(token)).status_code == 201
        assert _issue(live, token).status_code == 201
        refused = _issue(live, token)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "0470" not in refused.text
        assert _count(live.app, VerificationCode) == 2 and len(live.messages()) == 1


def test_only_a_granted_pharmacy_may_and_other_roles_may_not(live):  # type: ignore[no-untyped-def]
    partners = Partners(live.app)
    _, ungranted = partners.add("pharmacy", "Apotheek Zonder Test", partners.area())
    assert _issue(live, ungranted).status_code == 403  # type: ignore[arg-type]
    _, field_token = partners.add("prevention_service", "Preventiedienst")
    assert _issue(live, field_token).status_code == 403  # type: ignore[arg-type]
    assert httpx.post(live.url + PATH, json={"test_date": "2026-11-28", "phone": NUMBER}).status_code == 401
    assert _count(live.app, VerificationCode) == 0 and live.messages() == []


@pytest.mark.parametrize("language", sms_text.LANGUAGES)
def test_every_text_is_one_gsm_7_segment_at_its_longest(language):
    import datetime as dt

    now = dt.datetime(2026, 11, 29, 22, 30, tzinfo=dt.timezone.utc)  # 23:30 in Brussels
    text = sms_text.code_text("3141 5926 5358", now + dt.timedelta(hours=24), language, now=now)  # the longest TTL
    assert "3141 5926 5358" in text and "30/11 23:30" in text
    assert encoding(text) == GSM_7 and segments(text) == 1


def test_the_expiry_is_in_belgian_time_with_its_day_when_that_is_another():
    import datetime as dt

    now = dt.datetime(2026, 7, 1, 21, 30, tzinfo=dt.timezone.utc)  # 23:30 in Brussels (summer time)
    assert sms_text.until(now + dt.timedelta(minutes=29), now) == "23:59"
    assert sms_text.until(now + dt.timedelta(minutes=30), now) == "02/07 00:00"
