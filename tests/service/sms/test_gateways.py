"""The three SMS providers: signatures (valid, tampered, missing, stale), readings of every kind of text,
and sending against the emulator over real HTTP.

Twilio's signature is cross-checked against Twilio's own SDK (an independent implementation), Vonage's
JWT is made with PyJWT as Vonage's documentation describes, the generic signature by hand here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import urllib.parse

import jwt
import pytest
from support import free_port
from twilio.request_validator import RequestValidator

from service.sms import emulator
from service.sms.gateways import (
    LEEWAY,
    MAX_AGE,
    BadSignature,
    GenericGateway,
    Inbound,
    MalformedWebhook,
    Receipt,
    SendError,
    TwilioGateway,
    VonageGateway,
    gateways,
    twilio_signature,
)

NOW = dt.datetime(2026, 11, 29, 10, 17, 30, tzinfo=dt.timezone.utc)
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-0123456789abcdef"
VONAGE_SECRET = "vonage-signature-secret-" + "0123456789abcdef" * 3  # 64 bytes: enough for HS512 too
GENERIC_SECRET = "generic-shared-secret-0123456789abcdef"
URL = "https://safesignal.example.be/v1/sms/twilio/inbound"
PHONE = "+32470123456"
MUNICIPAL = "+3215123456"

TEXTS = {
    "ascii": "HULP 2800",
    "gsm special": "HULP 2800 @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà {}[]~|\\^€",
    "emoji": "HULP 2800 🆘🙏🏽 help",
    "arabic": "مساعدة 2800 من فضلك",
    "cyrillic": "ПОМОЩЬ 2800 пожалуйста",
    "empty": "",
    "long": ("HULP 2800 " + "ééé ΔΔΔ 🆘 " * 200)[:1600],
    "plus and ampersand": "a+b=c & d%20e",
}


class Clock:
    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twilio():
    gateway = TwilioGateway(SID, TOKEN)
    yield gateway
    gateway.close()


@pytest.fixture
def vonage(clock):
    gateway = VonageGateway("key", "secret", VONAGE_SECRET, clock=clock)
    yield gateway
    gateway.close()


@pytest.fixture
def generic(clock):
    gateway = GenericGateway(GENERIC_SECRET, "http://127.0.0.1:9/unused", clock=clock)
    yield gateway
    gateway.close()


# --- Twilio ---------------------------------------------------------------------------------------


def twilio_form(text: str = "HULP 2800", **extra: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "AccountSid": SID, "From": PHONE, "To": MUNICIPAL, "Body": text,
            "NumSegments": "1", "NumMedia": "0", **extra}


def sdk_signed(form: dict[str, str], url: str = URL, token: str = TOKEN) -> tuple[dict[str, str], bytes]:
    """Headers and body of a Twilio webhook, signed by Twilio's SDK."""
    signature = RequestValidator(token).compute_signature(url, form)
    return {"X-Twilio-Signature": signature}, urllib.parse.urlencode(form).encode("ascii")


@pytest.mark.parametrize("kind", TEXTS)
def test_twilio_inbound_reads_every_kind_of_text(twilio, kind):
    headers, body = sdk_signed(twilio_form(TEXTS[kind], NumSegments="3"))
    inbound = twilio.inbound(URL, headers, body)
    assert inbound == Inbound("SM" + "a" * 32, PHONE, MUNICIPAL, TEXTS[kind], 3)


def test_twilio_signature_agrees_with_the_sdk_on_valid_and_tampered_requests(twilio):
    validator = RequestValidator(TOKEN)
    cases = [
        (twilio_form(), URL),
        (twilio_form(TEXTS["emoji"]), URL),
        (twilio_form(TEXTS["arabic"]), URL + "?bodyless=1&x=%C3%A9"),
        (twilio_form(""), "http://localhost:8000/v1/sms/twilio/inbound"),
    ]
    for form, url in cases:
        signature = validator.compute_signature(url, form)
        assert twilio_signature(TOKEN, url, {k: [v] for k, v in form.items()}) == signature
        body = urllib.parse.urlencode(form).encode("ascii")
        assert validator.validate(url, form, signature)
        assert twilio.inbound(url, {"X-Twilio-Signature": signature}, body).text == form["Body"]
        tampered_forms = [{**form, "Body": form["Body"] + "x"}, {**form, "From": "+32470999999"},
                          {**form, "Extra": ""}]
        for tampered in tampered_forms:
            assert not validator.validate(url, tampered, signature)
            with pytest.raises(BadSignature):
                twilio.inbound(url, {"X-Twilio-Signature": signature}, urllib.parse.urlencode(tampered).encode())
        for other_url in (url.replace("/inbound", "/status"), url.replace("http", "https", 1)):
            assert not validator.validate(other_url, form, signature)
            with pytest.raises(BadSignature):
                twilio.inbound(other_url, {"X-Twilio-Signature": signature}, body)


def test_twilio_repeated_parameters_are_signed_as_the_sdk_signs_them(twilio):
    """A name given twice: the SDK signs its distinct values, sorted; so do we."""

    class MultiDict(dict):
        def getall(self, name):
            return self[name]

    params = MultiDict({**{k: [v] for k, v in twilio_form().items()}, "MediaUrl": ["https://b", "https://a"]})
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    assert twilio_signature(TOKEN, URL, params) == signature
    body = urllib.parse.urlencode([(k, v) for k, values in params.items() for v in values]).encode()
    assert twilio.inbound(URL, {"X-Twilio-Signature": signature}, body).sender == PHONE


@pytest.mark.parametrize(("signed", "called"), [
    ("https://safesignal.example.be/hook", "https://safesignal.example.be:443/hook"),
    ("https://safesignal.example.be:443/hook", "https://safesignal.example.be/hook"),
    ("http://127.0.0.1/hook", "http://127.0.0.1:8000/hook"),
])
def test_twilio_signature_with_or_without_the_port_is_accepted_as_by_the_sdk(twilio, signed, called):
    headers, body = sdk_signed(twilio_form(), url=signed)
    assert RequestValidator(TOKEN).validate(called, twilio_form(), headers["X-Twilio-Signature"])
    assert twilio.inbound(called, headers, body).recipient == MUNICIPAL


def test_twilio_signature_over_another_port_is_refused_as_by_the_sdk(twilio):
    headers, body = sdk_signed(twilio_form(), url="http://127.0.0.1:8000/hook")
    assert not RequestValidator(TOKEN).validate("http://127.0.0.1/hook", twilio_form(), headers["X-Twilio-Signature"])
    with pytest.raises(BadSignature):
        twilio.inbound("http://127.0.0.1/hook", headers, body)
    with pytest.raises(BadSignature):
        twilio.inbound("http://127.0.0.1:8001/hook", headers, body)


def test_twilio_missing_wrong_or_foreign_signature_is_refused(twilio):
    headers, body = sdk_signed(twilio_form())
    with pytest.raises(BadSignature):
        twilio.inbound(URL, {}, body)
    with pytest.raises(BadSignature):
        twilio.inbound(URL, {"X-Twilio-Signature": ""}, body)
    with pytest.raises(BadSignature):
        twilio.inbound(URL, sdk_signed(twilio_form(), token="another-account-token-0123456789")[0], body)
    with pytest.raises(BadSignature):
        twilio.inbound(URL, {"X-Twilio-Signature": "é" + headers["X-Twilio-Signature"]}, body)
    with pytest.raises(BadSignature):
        twilio.inbound(URL, headers, b"Body=%FF%FE&" + body)  # not UTF-8: nothing to verify
    # The header's case does not matter (a plain dict here; werkzeug's Headers are case-insensitive).
    assert twilio.inbound(URL, {"x-twilio-signature": headers["X-Twilio-Signature"]}, body).sender == PHONE


def test_twilio_signed_but_unreadable_is_malformed_without_values(twilio):
    form = twilio_form(NumSegments="many", To="+32 not a number")
    del form["From"]
    headers, body = sdk_signed(form)
    with pytest.raises(MalformedWebhook) as caught:
        twilio.inbound(URL, headers, body)
    assert set(caught.value.errors) == {"From", "To", "NumSegments"}
    assert "many" not in str(caught.value.errors) and "not a number" not in str(caught.value)


def test_twilio_missing_body_is_an_empty_text_and_missing_segments_one(twilio):
    form = twilio_form()
    del form["Body"], form["NumSegments"]
    inbound = twilio.inbound(URL, *sdk_signed(form))
    assert (inbound.text, inbound.segments) == ("", 1)


@pytest.mark.parametrize(("status", "state"), [
    ("queued", "pending"), ("sent", "pending"), ("delivered", "delivered"), ("undelivered", "failed"),
    ("failed", "failed"),
])
def test_twilio_status_callbacks(twilio, status, state):
    form = {"MessageSid": "SM" + "b" * 32, "MessageStatus": status, "AccountSid": SID, "To": PHONE}
    assert twilio.receipt(URL, *sdk_signed(form)) == Receipt("SM" + "b" * 32, state)


def test_twilio_unknown_status_is_malformed_and_tampered_status_refused(twilio):
    form = {"MessageSid": "SM1", "MessageStatus": "teleported"}
    with pytest.raises(MalformedWebhook) as caught:
        twilio.receipt(URL, *sdk_signed(form))
    assert caught.value.errors == {"MessageStatus": ["Not a known status."]}
    headers, _ = sdk_signed({"MessageSid": "SM1", "MessageStatus": "failed"})
    with pytest.raises(BadSignature):
        twilio.receipt(URL, headers, b"MessageSid=SM1&MessageStatus=delivered")


def test_twilio_acknowledgement_is_empty_twiml(twilio):
    body, content_type = twilio.acknowledgement()
    assert content_type == "text/xml"
    assert body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# --- Vonage ---------------------------------------------------------------------------------------


def vonage_inbound(text: str = "HULP 2800", **extra) -> bytes:
    return json.dumps({"channel": "sms", "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "3215123456",
                       "from": "32470123456", "timestamp": "2026-11-29T10:17:00Z", "text": text,
                       "sms": {"num_messages": "2"}, "message_type": "text", **extra}).encode("utf-8")


def vonage_headers(body: bytes, *, iat: float = NOW.timestamp(), secret: str = VONAGE_SECRET,
                   payload_hash: str | None = None, algorithm: str = "HS256", **claims) -> dict[str, str]:
    payload = {"iat": int(iat), "jti": "4f1b", "iss": "Vonage",
               "payload_hash": payload_hash or hashlib.sha256(body).hexdigest(), **claims}
    return {"Authorization": "Bearer " + jwt.encode(payload, secret if algorithm != "none" else None,
                                                    algorithm=algorithm)}


@pytest.mark.parametrize("kind", TEXTS)
def test_vonage_inbound_reads_every_kind_of_text_and_normalises_the_recipient(vonage, kind):
    body = vonage_inbound(TEXTS[kind])
    inbound = vonage.inbound(URL, vonage_headers(body), body)
    assert inbound == Inbound("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "32470123456", MUNICIPAL, TEXTS[kind], 2)


def test_vonage_wrong_secret_wrong_hash_alg_none_and_missing_are_refused(vonage):
    body = vonage_inbound()
    refused = [
        {},
        {"Authorization": "Basic a2V5OnNlY3JldA=="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not.a.jwt"},
        vonage_headers(body, secret="another-signature-secret-0123456789abcdef"),
        vonage_headers(body, payload_hash=hashlib.sha256(body + b" ").hexdigest()),
        vonage_headers(body, algorithm="none"),
        vonage_headers(body, algorithm="HS512"),
    ]
    for headers in refused:
        with pytest.raises(BadSignature):
            vonage.inbound(URL, headers, body)
    # A correctly signed token over another body: the body was tampered with.
    with pytest.raises(BadSignature):
        vonage.inbound(URL, vonage_headers(body), vonage_inbound("HULP 9999"))


def test_vonage_requires_iat_and_payload_hash(vonage):
    body = vonage_inbound()
    without_iat = jwt.encode({"payload_hash": hashlib.sha256(body).hexdigest()}, VONAGE_SECRET, algorithm="HS256")
    without_hash = jwt.encode({"iat": int(NOW.timestamp())}, VONAGE_SECRET, algorithm="HS256")
    for token in (without_iat, without_hash):
        with pytest.raises(BadSignature):
            vonage.inbound(URL, {"Authorization": f"Bearer {token}"}, body)


def test_vonage_stale_and_future_tokens_are_refused_at_the_boundary(vonage, clock):
    body = vonage_inbound()
    now = NOW.timestamp()
    assert vonage.inbound(URL, vonage_headers(body, iat=now - MAX_AGE), body).segments == 2
    with pytest.raises(BadSignature):
        vonage.inbound(URL, vonage_headers(body, iat=now - MAX_AGE - 1), body)
    assert vonage.inbound(URL, vonage_headers(body, iat=now + LEEWAY), body).segments == 2
    with pytest.raises(BadSignature):
        vonage.inbound(URL, vonage_headers(body, iat=now + LEEWAY + 1), body)
    with pytest.raises(BadSignature):
        vonage.inbound(URL, vonage_headers(body, exp=int(now) - LEEWAY - 1), body)
    # The same token, later: stale.
    headers = vonage_headers(body)
    clock.now += dt.timedelta(seconds=MAX_AGE + 1)
    with pytest.raises(BadSignature):
        vonage.inbound(URL, headers, body)


def test_vonage_payload_hash_is_compared_whatever_its_case(vonage):
    body = vonage_inbound()
    assert vonage.inbound(URL, vonage_headers(body, payload_hash=hashlib.sha256(body).hexdigest().upper()), body)


@pytest.mark.parametrize(("body", "fields"), [
    (b"not json", {"_body"}),
    (b"[1, 2]", {"_body"}),
    (b'{"text": "\xff"}', {"_body"}),
    (json.dumps({"channel": "sms", "text": 5}).encode(), {"message_uuid", "from", "to", "text"}),
    (vonage_inbound(sms={"num_messages": "two"}), {"sms.num_messages"}),
    (vonage_inbound(sms="2"), {"sms"}),
    (vonage_inbound(channel="whatsapp"), {"channel"}),
    (vonage_inbound(to="12"), {"to"}),
])
def test_vonage_signed_but_unreadable_is_malformed(vonage, body, fields):
    with pytest.raises(MalformedWebhook) as caught:
        vonage.inbound(URL, vonage_headers(body), body)
    assert set(caught.value.errors) == fields
    assert "32470123456" not in str(caught.value)


@pytest.mark.parametrize(("status", "state"), [
    ("submitted", "pending"), ("delivered", "delivered"), ("rejected", "failed"), ("undelivered", "failed"),
])
def test_vonage_status(vonage, status, state):
    body = json.dumps({"message_uuid": "u-1", "to": "32470123456", "from": "3215123456",
                       "timestamp": "2026-11-29T10:17:00Z", "status": status}).encode()
    assert vonage.receipt(URL, vonage_headers(body), body) == Receipt("u-1", state)


# --- generic --------------------------------------------------------------------------------------


def generic_headers(body: bytes, t: float = NOW.timestamp(), secret: str = GENERIC_SECRET) -> dict[str, str]:
    """Signed here by hand, from the module docstring's description, not with the module's function."""
    mac = hmac.new(secret.encode(), f"{int(t)}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Safesignal-Signature": f"t={int(t)},v1={mac}"}


def generic_inbound(text: str = "HULP 2800", **extra) -> bytes:
    return json.dumps({"id": "g-1", "from": "0470123456", "to": "+32 15 12 34 56", "text": text, **extra},
                      ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("kind", TEXTS)
def test_generic_inbound_reads_every_kind_of_text(generic, kind):
    body = generic_inbound(TEXTS[kind], parts=4)
    assert generic.inbound(URL, generic_headers(body), body) == Inbound("g-1", "0470123456", MUNICIPAL,
                                                                         TEXTS[kind], 4)


def test_generic_tampered_wrong_secret_missing_and_incomplete_signatures_are_refused(generic):
    body = generic_inbound()
    good = generic_headers(body)["X-Safesignal-Signature"]
    t, v1 = good.split(",")
    refused = [
        {},
        {"X-Safesignal-Signature": ""},
        {"X-Safesignal-Signature": t},
        {"X-Safesignal-Signature": v1},
        {"X-Safesignal-Signature": f"t=abc,{v1}"},
        {"X-Safesignal-Signature": f"t={int(NOW.timestamp()) + 1},{v1}"},  # the timestamp is signed
        generic_headers(body, secret="another-shared-secret-0123456789abcdef"),
        {"X-Safesignal-Signature": good.replace("v1=", "v0=")},
    ]
    for headers in refused:
        with pytest.raises(BadSignature):
            generic.inbound(URL, headers, body)
    with pytest.raises(BadSignature):
        generic.inbound(URL, {"X-Safesignal-Signature": good}, generic_inbound("HULP 9999"))
    # A sender rotating its secret signs with both; unknown keys are ignored.
    other = generic_headers(body, secret="old-shared-secret-0123456789abcdef")["X-Safesignal-Signature"]
    rotated = f"{other.split(',')[1]},{good},v2=future"
    assert generic.inbound(URL, {"x-safesignal-signature": rotated}, body).message_id == "g-1"


def test_generic_stale_signatures_are_refused_at_the_boundary(generic):
    body = generic_inbound()
    now = NOW.timestamp()
    for accepted in (now - MAX_AGE, now + MAX_AGE):
        assert generic.inbound(URL, generic_headers(body, t=accepted), body).segments == 1
    for refused in (now - MAX_AGE - 1, now + MAX_AGE + 1):
        with pytest.raises(BadSignature):
            generic.inbound(URL, generic_headers(body, t=refused), body)


def test_generic_receipts_and_malformed(generic):
    body = json.dumps({"id": "g-9", "status": "delivered"}).encode()
    assert generic.receipt(URL, generic_headers(body), body) == Receipt("g-9", "delivered")
    body = json.dumps({"id": "g-9", "status": "sent-to-mars"}).encode()
    with pytest.raises(MalformedWebhook) as caught:
        generic.receipt(URL, generic_headers(body), body)
    assert caught.value.errors == {"status": ["Not a known status."]}
    body = generic_inbound(parts=0)
    with pytest.raises(MalformedWebhook) as caught:
        generic.inbound(URL, generic_headers(body), body)
    assert caught.value.errors == {"parts": ["Not a valid integer."]}


# --- the interface: repr, configuration -----------------------------------------------------------


def test_inbound_repr_hides_the_sender_and_the_text():
    inbound = Inbound("SM1", PHONE, MUNICIPAL, "HULP 2800 mijn buurman", 1)
    assert PHONE not in repr(inbound) and "buurman" not in repr(inbound)
    assert "SM1" in repr(inbound)


def test_gateways_builds_every_configured_provider_and_refuses_half_configurations():
    assert gateways({}) == {}
    built = gateways({"SMS_TWILIO_ACCOUNT_SID": SID, "SMS_TWILIO_AUTH_TOKEN": TOKEN, "SMS_GENERIC_SECRET": "s" * 32,
                      "SMS_GENERIC_SEND_URL": "http://127.0.0.1:9/send", "SMS_VONAGE_API_KEY": ""})
    try:
        assert sorted(built) == ["generic", "twilio"]
        assert all(gateway.name == name for name, gateway in built.items())
        assert TOKEN not in repr(built)
    finally:
        for gateway in built.values():
            gateway.close()
    with pytest.raises(ValueError) as caught:
        gateways({"SMS_VONAGE_API_KEY": "key-123", "SMS_VONAGE_API_SECRET": "secret-456"})
    assert "SMS_VONAGE_SIGNATURE_SECRET" in str(caught.value)
    assert "key-123" not in str(caught.value) and "secret-456" not in str(caught.value)


# --- sending, against the emulator over real HTTP --------------------------------------------------


@pytest.fixture
def provider_api():
    """The emulator on a free port, standing in for the three providers' REST APIs; its base URL.

    The service it would post status callbacks to is a closed port: these tests look at the sends only.
    """
    server, thread = emulator.serve(free_port(), f"http://127.0.0.1:{free_port()}", SETTINGS, "twilio")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


SETTINGS = {"SMS_TWILIO_ACCOUNT_SID": SID, "SMS_TWILIO_AUTH_TOKEN": TOKEN, "SMS_VONAGE_API_KEY": "vonage-key",
            "SMS_VONAGE_API_SECRET": "vonage-api-secret", "SMS_VONAGE_SIGNATURE_SECRET": VONAGE_SECRET,
            "SMS_GENERIC_SECRET": GENERIC_SECRET}


@pytest.fixture
def senders(provider_api):
    built = gateways({**SETTINGS, "SMS_TWILIO_API_URL": provider_api, "SMS_VONAGE_API_URL": provider_api,
                      "SMS_GENERIC_SEND_URL": f"{provider_api}/generic/send"})
    yield built
    for gateway in built.values():
        gateway.close()


def inbox(api: str) -> list[dict[str, str]]:
    import httpx

    return httpx.get(f"{api}/emulator/messages").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("provider", "to", "sender", "prefix"), [
    ("twilio", PHONE, MUNICIPAL, "SM"),
    ("vonage", "32470123456", "3215123456", ""),
    ("generic", PHONE, MUNICIPAL, ""),
])
def test_send_reaches_the_provider_with_every_kind_of_text(senders, provider_api, provider, to, sender, prefix):
    texts = [text for text in TEXTS.values() if text]  # the providers refuse an empty text, and so do we
    ids = [senders[provider].send(MUNICIPAL, PHONE, text, "http://127.0.0.1:9/v1/sms/status") for text in texts]
    assert len(set(ids)) == len(texts) and all(i.startswith(prefix) for i in ids)
    received = inbox(provider_api)
    assert [(m["id"], m["provider"], m["to"], m["from"], m["text"]) for m in received] == [
        (i, provider, to, sender, text) for i, text in zip(ids, texts)
    ]


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (429, True), (400, False), (404, False)])
def test_send_errors_say_whether_to_retry_and_name_no_number_or_text(
    senders, provider_api, provider, status, retryable, caplog
):
    import httpx

    caplog.set_level(logging.DEBUG)
    httpx.post(f"{provider_api}/emulator/fail", json={"count": 1, "status": status})
    with pytest.raises(SendError) as caught:
        senders[provider].send(MUNICIPAL, PHONE, "Uw code is 4711", "http://127.0.0.1:9/status")
    assert caught.value.retryable is retryable
    assert str(caught.value) == f"HTTP {status} from {provider}"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    # The failure was used up: the next send goes through.
    assert senders[provider].send(MUNICIPAL, PHONE, "Uw code is 4711", "http://127.0.0.1:9/status")
    # What the gateway and httpx log (the emulator, standing in for the provider, may show the reply).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("safesignal.sms.emulator"))
    assert "HTTP Request: POST" in logged
    for secret in ("470123456", "4711"):
        assert secret not in logged


def test_send_with_wrong_credentials_is_not_retryable(provider_api):
    for gateway in (TwilioGateway(SID, "wrong-token", api_url=provider_api),
                    VonageGateway("vonage-key", "wrong", VONAGE_SECRET, api_url=provider_api),
                    GenericGateway("wrong-secret-0123456789abcdef", f"{provider_api}/generic/send")):
        with pytest.raises(SendError) as caught:
            gateway.send(MUNICIPAL, PHONE, "x", "http://127.0.0.1:9/status")
        gateway.close()
        assert (str(caught.value), caught.value.retryable) == (f"HTTP 401 from {gateway.name}", False)
    assert inbox(provider_api) == []


def test_send_to_an_unreachable_provider_is_retryable():
    gateway = TwilioGateway(SID, TOKEN, api_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SendError) as caught:
        gateway.send(MUNICIPAL, PHONE, "Uw code is 4711", "http://127.0.0.1:9/status")
    gateway.close()
    assert caught.value.retryable
    assert str(caught.value).startswith("network error sending to twilio")
    assert "470123456" not in str(caught.value)


def test_an_accepted_send_without_an_id_is_not_retried(provider_api):
    """The emulator's control endpoint answers 200 without "id": accepted, perhaps sent, id unknown."""
    gateway = GenericGateway(GENERIC_SECRET, f"{provider_api}/emulator/reset")
    with pytest.raises(SendError) as caught:
        gateway.send(MUNICIPAL, PHONE, "x", "http://127.0.0.1:9/status")
    gateway.close()
    assert (str(caught.value), caught.value.retryable) == ("unreadable answer from generic", False)

