"""The counter's second way to hand over a verification code: by SMS. The app and the provider (the
emulator) each a real HTTP server; the page posts, the phone's inbox has the code, the app redeems it.
Neither the code nor the number is ever on a page (not even beside the number's error), nor in a table
of either database or a log line; a used form, a bad number and a deployment without SMS issue nothing."""

from __future__ import annotations

import logging
import re

import pytest
from sms_support import NUMBER, dump_databases, live_sms, number_in, wait_for
from sqlalchemy import func, select
from support import People, Partners, csrf_token

from service.sms.models import SmsOutbox
from service.tracing.models import CodeQuota, VerificationCode

_NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
_CODE_IN_TEXT = re.compile(r"\b(\d{4} \d{4} \d{4})\b")
_TWELVE_DIGITS = re.compile(r"\d{4} ?\d{4} ?\d{4}")
_PHONE_INPUT = re.compile(r"<input[^>]*\bname=\"phone\"[^>]*>")


@pytest.fixture
def live(app_with, tmp_path):  # type: ignore[no-untyped-def]
    with live_sms(app_with, tmp_path) as running:
        yield running


def _signed_in(app, *, granted: bool = True, language: str | None = None):  # type: ignore[no-untyped-def]
    partners = Partners(app)
    people = People(app, partners)
    person = people.create("pharmacy", language=language)
    if granted:
        partners.run("tracing", "grant", person.organisation_id)
    client = app.test_client()
    people.sign_in(client, person)
    return client


def _fields(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    html = client.get("/counter/code").get_data(as_text=True)
    fields = {"csrf_token": csrf_token(html)}
    found = _NONCE.search(html)
    if found:
        fields["nonce"] = found.group(1)
    return fields


def _send(client, fields=None, **data: str):  # type: ignore[no-untyped-def]
    fields = fields or _fields(client)
    return client.post("/counter/code/sms", data={**fields, "kind": "test", "day": "2026-11-28", "phone": NUMBER,
                                                 "text_language": "nl", **data})


def _count(app, table) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)))


def test_the_page_offers_sms_with_a_labelled_empty_phone_field(live):  # type: ignore[no-untyped-def]
    client = _signed_in(live.app)
    html = client.get("/counter/code").get_data(as_text=True)
    (phone,) = _PHONE_INPUT.findall(html)
    assert 'id="phone"' in phone and 'type="tel"' in phone and 'inputmode="tel"' in phone and "value=" not in phone
    assert '<label for="phone">Mobile number</label>' in html and 'aria-describedby="phone-hint"' in phone
    assert 'formaction="/counter/code/sms"' in html and "Send by SMS" in html
    # Enter in the phone field must not show the code instead: the form's default button is disabled.
    assert html.index('<button type="submit" disabled hidden') < html.index("Issue a code</button>", html.index("hidden"))
    assert "<script" not in html and "style=" not in html


def test_a_code_sent_from_the_page_reaches_the_phone_works_and_neither_is_shown(live, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    client = _signed_in(live.app, language="de")
    fields = _fields(client)
    response = _send(client, fields, kind="symptoms", day="2026-11-26", text_language="fr")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "per SMS gesendet" in html and "12:17" in html and "99 of 100" not in html and "99 von 100" in html
    (message,) = live.messages()
    assert message["to"] == "+32470123456" and message["text"].startswith("safesignal : votre code")
    code = _CODE_IN_TEXT.search(message["text"]).group(1)  # type: ignore[union-attr]
    assert _TWELVE_DIGITS.search(html) is None and number_in(html) == []
    # The same form again issues and sends nothing.
    again = _send(client, fields)
    assert again.status_code == 409 and number_in(again.get_data(as_text=True)) == [] and len(live.messages()) == 1
    wait_for(lambda: _count(live.app, SmsOutbox) == 0)  # the receipt came back: the text is gone from the outbox
    redeemed = client.post("/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"})
    assert redeemed.status_code == 200
    page = client.get("/counter/code").get_data(as_text=True)
    assert number_in(page) == [] and code not in page
    assert number_in(dump_databases(live.app)) == []
    assert number_in(caplog.text) == []
    assert all(number_in(record.getMessage()) == [] and number_in(repr(record.args)) == [] for record in caplog.records)


@pytest.mark.parametrize("phone", [
    "015 12 34 56",  # a landline
    "garbage",
    "0470 12 34 56 78 90 12 34 56 78 90 12 34",  # too long
    "+32 470<script>alert(1)</script>",
])
def test_a_bad_number_is_refused_beside_its_field_never_written_back_and_nothing_issued(live, phone, caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    client = _signed_in(live.app, language="nl")
    response = _send(client, phone=phone, day="2026-11-27")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Dit is geen gsm-nummer" in html and 'id="phone-error"' in html
    (field,) = _PHONE_INPUT.findall(html)
    assert "value=" not in field and 'aria-invalid="true"' in field
    assert 'value="2026-11-27"' in html  # the date is kept: only the number is typed again
    for part in (phone, "script", "015 12", "0470", "12 34 56"):
        assert part not in html, part
        assert part not in caplog.text, part
    assert _count(live.app, VerificationCode) == 0 and _count(live.app, CodeQuota) == 0
    assert _count(live.app, SmsOutbox) == 0 and live.messages() == []


def test_an_empty_number_is_asked_for_and_the_form_stays_usable(live):  # type: ignore[no-untyped-def]
    client = _signed_in(live.app)
    response = _send(client, phone="")
    assert response.status_code == 422 and "Enter the mobile number" in response.get_data(as_text=True)
    assert _count(live.app, VerificationCode) == 0
    # The nonce was not spent on a refused form: the page's new form sends.
    assert _send(client).status_code == 200 and len(live.messages()) == 1


def test_a_text_the_provider_cannot_take_yet_is_said_as_queued(live):  # type: ignore[no-untyped-def]
    client = _signed_in(live.app)
    live.fail_next(1, 503)
    response = _send(client)
    assert response.status_code == 200 and "could not be sent yet" in response.get_data(as_text=True)
    assert _count(live.app, SmsOutbox) == 1 and number_in(dump_databases(live.app)) == []


def test_without_an_sms_provider_the_page_offers_none_and_a_post_issues_nothing(app):  # type: ignore[no-untyped-def]
    client = _signed_in(app)
    html = client.get("/counter/code").get_data(as_text=True)
    assert 'name="day"' in html and 'name="phone"' not in html and "Send by SMS" not in html
    response = _send(client)
    assert response.status_code == 409 and "no SMS provider" in response.get_data(as_text=True)
    assert number_in(response.get_data(as_text=True)) == []
    assert _count(app, VerificationCode) == 0 and _count(app, CodeQuota) == 0


def test_a_pharmacy_without_the_grant_gets_403_and_nothing_is_sent(live):  # type: ignore[no-untyped-def]
    client = _signed_in(live.app, granted=False)
    response = _send(client, nonce="x" * 22)
    assert response.status_code == 403 and number_in(response.get_data(as_text=True)) == []
    assert _count(live.app, VerificationCode) == 0 and live.messages() == []


def test_past_the_quota_nothing_is_sent(app_with, tmp_path):  # type: ignore[no-untyped-def]
    with live_sms(app_with, tmp_path, TRACING_CODES_PER_DAY=1) as live:
        client = _signed_in(live.app)
        second_tab = _fields(client)
        assert _send(client).status_code == 200
        response = _send(client, second_tab)
        assert response.status_code == 429 and "all its codes for today" in response.get_data(as_text=True)
        assert _count(live.app, VerificationCode) == 1 and len(live.messages()) == 1


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_the_sms_way_is_translated(live, language):  # type: ignore[no-untyped-def]
    client = _signed_in(live.app, language=language)
    html = client.get("/counter/code").get_data(as_text=True)
    for english in ("Mobile number", "Send by SMS", "Or send the code by SMS", "Language of the text"):
        assert english not in html, (language, english)
    assert f'<option value="{language}" lang="{language}" selected>' in html  # the text's language: the page's
