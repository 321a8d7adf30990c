"""The SMS providers: verify their webhooks, read inbound texts and delivery receipts, send replies.

Framework-free: a view hands in the public URL the provider was configured to call, the request's
headers (any mapping; looked up case-insensitively) and its raw body, and maps the errors below to
HTTP statuses. Three providers implement one :class:`Gateway` protocol, and :func:`gateways` builds
every one whose credentials are set.

Errors, and what the caller does about them:

- :class:`BadSignature`: the request cannot be shown to come from the provider (no signature header,
  a signature that does not match, a stale timestamp): answer 403 and read nothing.
- :class:`MalformedWebhook`: correctly signed but unreadable (not JSON, a field missing or of the
  wrong type, a recipient that is not a phone number): answer 400. ``.errors`` maps field names to
  messages and never quotes a value.
- :class:`SendError`: a reply was not accepted. ``.retryable`` says whether the outbox should try
  again later (5xx, 429, 408, timeouts and network errors) or give up (any other 4xx, an unreadable
  answer to an accepted request, where a retry could send the text twice).

Privacy: the sender's number is read only into :attr:`Inbound.sender`, which ``repr`` hides, like
the text. No message here, and no exception chain (every error is raised ``from None``), quotes a
number, a text or a provider's answer: a JSON decode error, for one, carries the whole body.

Wire formats
------------

Twilio (https://www.twilio.com/docs/usage/security): webhooks are form-encoded POSTs whose
``X-Twilio-Signature`` header is ``base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 +
value2 ...))`` over the parameters sorted by name (and, as Twilio's SDK does, each name's distinct
values sorted). Twilio signs the URL sometimes with and sometimes without the port; like the SDK we
accept either. Replies: ``POST {api}/2010-04-01/Accounts/{sid}/Messages.json`` with HTTP basic auth
``sid:token``, answered 201 with the message's ``sid``.

Vonage Messages API v1 ("Signed webhooks"): JSON webhooks carry ``Authorization: Bearer <JWT>``,
HS256 with the account's signature secret, whose ``payload_hash`` claim is the hex SHA-256 of the
body. We require ``iat`` and refuse a token issued more than :data:`MAX_AGE` seconds ago (or more than
:data:`LEEWAY` seconds in the future), an ``exp`` in the past, and any algorithm but HS256 (so
``alg: none`` too). Replies: ``POST {api}/v1/messages`` with basic auth ``key:secret``, answered 202
with ``message_uuid``. Vonage numbers are international digits without "+".

Generic signed JSON, for self-hosted gateways (an Android phone running an SMS gateway app, a modem
daemon). Designed after Stripe's webhook signatures; both directions use it::

    X-Safesignal-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + raw body)>

The timestamp is signed with the body, so a captured request cannot be replayed after
:data:`MAX_AGE` seconds, and a receiver refuses one whose ``|now - t|`` exceeds it. Several ``v1=``
entries may be given (a sender rotating its secret signs with both); one matching is enough, and
unknown keys are ignored. Bodies are UTF-8 JSON objects:

- inbound, the gateway to us: ``{"id": str, "from": str, "to": str, "text": str, "parts": int?}``
  (``parts``, the segments the text arrived in, defaults to 1);
- receipt, the gateway to the ``status_url`` of the send: ``{"id": str, "status": "delivered" |
  "failed" | "pending"}``;
- send, us to ``SMS_GENERIC_SEND_URL``: ``{"to": str, "from": str, "text": str, "status_url": str}``,
  answered with any 2xx and ``{"id": str}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import jwt
import phonenumbers

__all__ = [
    "BadSignature",
    "Gateway",
    "GatewayError",
    "GenericGateway",
    "Inbound",
    "MalformedWebhook",
    "Receipt",
    "SendError",
    "TwilioGateway",
    "VonageGateway",
    "gateways",
    "generic_signature",
    "twilio_signature",
    "verify_generic",
]

MAX_AGE = 300
"""Seconds a signed timestamp (generic ``t``, Vonage ``iat``) may lie in the past."""
LEEWAY = 30
"""Seconds a Vonage ``iat`` may lie in the future: the provider's clock may run ahead of ours."""
TIMEOUT = 10.0
"""Seconds for each phase of a send (connect, write, read): a provider slower than that is down."""

TWILIO_API_URL = "https://api.twilio.com"
VONAGE_API_URL = "https://api.nexmo.com"

_MISSING = "Missing data for required field."
_NOT_STRING = "Not a valid string."
_NOT_INTEGER = "Not a valid integer."
_NOT_NUMBER = "Not a valid phone number."
_NOT_STATE = "Not a known status."

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --- the interface ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """One inbound text, as the provider reports it.

    ``sender`` is the resident's number as the provider gave it: never stored, never logged, and
    hidden from ``repr`` (as is the text, which may name people).
    """

    message_id: str
    sender: str = field(repr=False)
    recipient: str
    text: str = field(repr=False)
    segments: int


@dataclass(frozen=True)
class Receipt:
    """A delivery report for a message we sent: "delivered", "failed" or "pending"."""

    provider_id: str
    state: str


class GatewayError(Exception):
    """Base class of every error raised by the SMS gateways."""


class BadSignature(GatewayError):
    """The webhook's signature is missing, wrong or stale: answer 403."""


class MalformedWebhook(GatewayError):
    """A correctly signed webhook that cannot be read: answer 400 with ``errors`` (field -> messages)."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__("malformed webhook: " + ", ".join(sorted(errors)))
        self.errors: dict[str, list[str]] = {name: list(messages) for name, messages in errors.items()}


class SendError(GatewayError):
    """The provider did not accept a text; ``retryable`` says whether trying later may succeed."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class Gateway(Protocol):
    """One SMS provider, as the views and the outbox see it."""

    name: str

    def inbound(self, url: str, headers: Mapping[str, str], body: bytes) -> Inbound:
        """Verify and read an inbound-text webhook."""
        ...

    def receipt(self, url: str, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Verify and read a delivery-status webhook."""
        ...

    def acknowledgement(self) -> tuple[bytes, str]:
        """The body and content type a webhook is answered with."""
        ...

    def send(self, sender: str, to: str, text: str, status_url: str) -> str:
        """Send one text; return the provider's message id."""
        ...

    def close(self) -> None:
        """Close the HTTP connections kept alive for sending."""
        ...


def gateways(settings: Mapping[str, Any], *, clock: Clock = _utcnow) -> dict[str, Gateway]:
    """Every provider whose credentials are set in settings (keys without the SAFESIGNAL_ prefix), by name.

    A provider half configured (a key set, its secret not) is an operator's mistake, refused with the
    names of the missing settings rather than silently left out.
    """
    built: dict[str, Gateway] = {}
    twilio = _credentials(settings, "SMS_TWILIO_ACCOUNT_SID", "SMS_TWILIO_AUTH_TOKEN")
    if twilio:
        built["twilio"] = TwilioGateway(*twilio, api_url=settings.get("SMS_TWILIO_API_URL") or TWILIO_API_URL)
    vonage = _credentials(settings, "SMS_VONAGE_API_KEY", "SMS_VONAGE_API_SECRET", "SMS_VONAGE_SIGNATURE_SECRET")
    if vonage:
        built["vonage"] = VonageGateway(
            *vonage, api_url=settings.get("SMS_VONAGE_API_URL") or VONAGE_API_URL, clock=clock
        )
    generic = _credentials(settings, "SMS_GENERIC_SECRET", "SMS_GENERIC_SEND_URL")
    if generic:
        built["generic"] = GenericGateway(*generic, clock=clock)
    return built


def _credentials(settings: Mapping[str, Any], *names: str) -> tuple[str, ...] | None:
    """The values of names, all set; None when none is; ValueError (naming settings, not values) otherwise."""
    values = tuple(str(settings.get(name) or "") for name in names)
    if not any(values):
        return None
    missing = [name for name, value in zip(names, values) if not value]
    if missing:
        raise ValueError(f"SMS provider half configured: {', '.join(missing)} not set")
    return values


# --- shared helpers ---------------------------------------------------------------------------------


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the mapping's case handling."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def _e164(number: str) -> str | None:
    """A number in E.164, from "+32...", "0032...", international digits ("32...") or Belgian "0..."."""
    digits = number.strip().replace(" ", "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits[:1].isdigit() and not digits.startswith("0"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, "BE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _json_object(body: bytes) -> dict[str, Any]:
    """A UTF-8 JSON object, or MalformedWebhook (raised without the decoder's error: it holds the body)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise MalformedWebhook({"_body": ["Not a JSON object."]}) from None
    return data


class _Fields:
    """Reads typed fields out of a webhook, collecting every problem before raising once."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def string(self, name: str, default: str | None = None) -> str:
        """A string field; required (and non-empty) unless a default is given."""
        value = self.data.get(name)
        if value is None:
            if default is None:
                self.fail(name, _MISSING)
            return default or ""
        if not isinstance(value, str):
            self.fail(name, _NOT_STRING)
            return ""
        if default is None and not value:
            self.fail(name, _MISSING)
        return value

    def count(self, name: str, value: Any) -> int:
        """A segment count: a positive integer, possibly sent as a string; 1 when absent."""
        if value is None or value == "":
            return 1
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.fail(name, _NOT_INTEGER)
            return 1
        try:
            number = int(value)
        except ValueError:
            self.fail(name, _NOT_INTEGER)
            return 1
        if not 1 <= number <= 255:  # a concatenated SMS has at most 255 parts (its header counts in a byte)
            self.fail(name, _NOT_INTEGER)
            return 1
        return number

    def recipient(self, name: str, value: str) -> str:
        normalised = _e164(value) if value else None
        if value and normalised is None:
            self.fail(name, _NOT_NUMBER)
        return normalised or ""

    def state(self, name: str, value: str, states: Mapping[str, str]) -> str:
        state = states.get(value)
        if value and state is None:
            self.fail(name, _NOT_STATE)
        return state or ""

    def check(self) -> None:
        if self.errors:
            raise MalformedWebhook(self.errors) from None


class _Sender:
    """One keep-alive HTTP client per gateway, and the one rule mapping a failed send to SendError."""

    def __init__(self, provider: str, **client: Any):
        self.provider = provider
        self.client = httpx.Client(timeout=TIMEOUT, **client)

    def post(self, url: str, *, id_field: str, **request: Any) -> str:
        """POST, and return the id in the JSON answer; SendError names only the kind of failure."""
        try:
            response = self.client.post(url, **request)
        except httpx.TimeoutException:
            raise SendError(f"timeout sending to {self.provider}", retryable=True) from None
        except httpx.TransportError as error:
            raise SendError(f"network error sending to {self.provider}: {type(error).__name__}", retryable=True) from None
        status = response.status_code
        if not 200 <= status < 300:
            retryable = status >= 500 or status in (408, 429)
            raise SendError(f"HTTP {status} from {self.provider}", retryable=retryable) from None
        try:
            provider_id = response.json().get(id_field)
        except (ValueError, AttributeError):
            provider_id = None
        if not isinstance(provider_id, str) or not provider_id:
            # Accepted, perhaps sent: trying again could send the text twice.
            raise SendError(f"unreadable answer from {self.provider}", retryable=False) from None
        return provider_id

    def close(self) -> None:
        self.client.close()


_JSON_ACK = (b"{}", "application/json")


# --- Twilio -----------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Mapping[str, Iterable[str]]) -> str:
    """X-Twilio-Signature of a form POST to url: base64 HMAC-SHA1 over url and the sorted parameters."""
    data = url + "".join(name + value for name in sorted(params) for value in sorted(set(params[name])))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """url as given, with its scheme's default port and without a port: Twilio signs one of them."""
    parts = urllib.parse.urlsplit(url)
    host, _, port = parts.netloc.rpartition(":")
    variants = [url]
    if port.isdigit() and "]" not in port:
        variants.append(parts._replace(netloc=host).geturl())
    else:
        default = "443" if parts.scheme == "https" else "80"
        variants.append(parts._replace(netloc=f"{parts.netloc}:{default}").geturl())
    return variants


_TWILIO_STATES = {
    "accepted": "pending", "scheduled": "pending", "queued": "pending", "sending": "pending", "sent": "pending",
    "delivered": "delivered", "read": "delivered",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
}


class TwilioGateway:
    """Twilio's Programmable Messaging: form webhooks signed with the auth token, replies over REST."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, api_url: str = TWILIO_API_URL):
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._messages_url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        self._sender = _Sender(self.name, auth=(account_sid, auth_token))

    def __repr__(self) -> str:
        return "TwilioGateway()"

    def _verified(self, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, list[str]]:
        signature = _header(headers, "X-Twilio-Signature")
        if not signature:
            raise BadSignature("no X-Twilio-Signature header")
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            # Twilio signs the decoded parameters: an undecodable body cannot carry a valid signature.
            raise BadSignature("form body not decodable, signature unverifiable") from None
        params: dict[str, list[str]] = {}
        for name, value in pairs:
            params.setdefault(name, []).append(value)
        given = signature.strip().encode("ascii", "replace")
        for variant in _port_variants(url):
            expected = twilio_signature(self._auth_token, variant, params).encode("ascii")
            if hmac.compare_digest(expected, given):
                return params
        raise BadSignature("X-Twilio-Signature does not match")

    def inbound(self, url: str, headers: Mapping[str, str], body: bytes) -> Inbound:
        """Verify and read Twilio's incoming-message webhook (From, To, Body, MessageSid, NumSegments)."""
        params = self._verified(url, headers, body)
        fields = _Fields({name: values[-1] for name, values in params.items()})
        message_id = fields.string("MessageSid")
        sender = fields.string("From")
        recipient = fields.recipient("To", fields.string("To"))
        text = fields.string("Body", "")
        segments = fields.count("NumSegments", fields.data.get("NumSegments"))
        fields.check()
        return Inbound(message_id, sender, recipient, text, segments)

    def receipt(self, url: str, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Verify and read Twilio's status callback (MessageSid, MessageStatus)."""
        params = self._verified(url, headers, body)
        fields = _Fields({name: values[-1] for name, values in params.items()})
        message_id = fields.string("MessageSid")
        state = fields.state("MessageStatus", fields.string("MessageStatus"), _TWILIO_STATES)
        fields.check()
        return Receipt(message_id, state)

    def acknowledgement(self) -> tuple[bytes, str]:
        """Empty TwiML: Twilio sends nothing back itself, replies go through the outbox."""
        return b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml"

    def send(self, sender: str, to: str, text: str, status_url: str) -> str:
        """Create a message; Twilio reports its fate to status_url."""
        form = {"To": to, "From": sender, "Body": text, "StatusCallback": status_url}
        return self._sender.post(self._messages_url, data=form, id_field="sid")

    def close(self) -> None:
        self._sender.close()


# --- Vonage -----------------------------------------------------------------------------------------


_VONAGE_STATES = {
    "submitted": "pending", "delivered": "delivered", "read": "delivered",
    "rejected": "failed", "undelivered": "failed", "failed": "failed", "expired": "failed",
}


class VonageGateway:
    """Vonage's Messages API v1: JSON webhooks signed by a JWT, replies over REST."""

    name = "vonage"

    def __init__(
        self, api_key: str, api_secret: str, signature_secret: str, *, api_url: str = VONAGE_API_URL,
        clock: Clock = _utcnow,
    ):
        self._signature_secret = signature_secret
        self._clock = clock
        self._messages_url = f"{api_url.rstrip('/')}/v1/messages"
        self._sender = _Sender(self.name, auth=(api_key, api_secret))

    def __repr__(self) -> str:
        return "VonageGateway()"

    def _verified(self, headers: Mapping[str, str], body: bytes) -> _Fields:
        authorization = _header(headers, "Authorization") or ""
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BadSignature("no bearer token")
        try:
            # PyJWT checks the signature, the algorithm and that the claims are present; the times are
            # checked below against our clock, not the machine's.
            claims = jwt.decode(
                token.strip(), self._signature_secret, algorithms=["HS256"],
                options={"require": ["iat", "payload_hash"], "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False, "verify_aud": False, "verify_iss": False},
            )
        except jwt.InvalidTokenError:
            raise BadSignature("bearer token invalid") from None
        now = self._clock().timestamp()
        issued = claims["iat"]
        if isinstance(issued, bool) or not isinstance(issued, (int, float)):
            raise BadSignature("bearer token invalid")
        if issued > now + LEEWAY or now - issued > MAX_AGE:
            raise BadSignature("bearer token stale")
        expires = claims.get("exp")
        if isinstance(expires, (int, float)) and now > expires + LEEWAY:
            raise BadSignature("bearer token expired")
        payload_hash = claims["payload_hash"]
        expected = hashlib.sha256(body).hexdigest()
        if not isinstance(payload_hash, str) or not hmac.compare_digest(
            payload_hash.lower().encode("ascii", "replace"), expected.encode("ascii")
        ):
            raise BadSignature("payload_hash does not match the body")
        return _Fields(_json_object(body))

    def inbound(self, url: str, headers: Mapping[str, str], body: bytes) -> Inbound:
        """Verify and read an inbound SMS (message_uuid, from, to, text, sms.num_messages)."""
        fields = self._verified(headers, body)
        channel = fields.data.get("channel")
        if channel is not None and channel != "sms":
            fields.fail("channel", "Not sms.")
        message_id = fields.string("message_uuid")
        sender = fields.string("from")
        recipient = fields.recipient("to", fields.string("to"))
        text = fields.string("text", "")
        sms = fields.data.get("sms")
        if sms is not None and not isinstance(sms, dict):
            fields.fail("sms", "Not a JSON object.")
            sms = None
        segments = fields.count("sms.num_messages", (sms or {}).get("num_messages"))
        fields.check()
        return Inbound(message_id, sender, recipient, text, segments)

    def receipt(self, url: str, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Verify and read a message status (message_uuid, status)."""
        fields = self._verified(headers, body)
        message_id = fields.string("message_uuid")
        state = fields.state("status", fields.string("status"), _VONAGE_STATES)
        fields.check()
        return Receipt(message_id, state)

    def acknowledgement(self) -> tuple[bytes, str]:
        """Vonage only needs a 2xx."""
        return _JSON_ACK

    def send(self, sender: str, to: str, text: str, status_url: str) -> str:
        """Send an SMS; status_url is ignored, Vonage's status webhook is set on the account."""
        message = {"message_type": "text", "channel": "sms", "to": to.removeprefix("+"),
                   "from": sender.removeprefix("+"), "text": text}
        return self._sender.post(self._messages_url, json=message, id_field="message_uuid")

    def close(self) -> None:
        self._sender.close()


# --- generic signed JSON ----------------------------------------------------------------------------


def generic_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Safesignal-Signature header value for body signed at timestamp (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_generic(secret: str, header: str | None, body: bytes, now: float) -> None:
    """Check an X-Safesignal-Signature header against body at now; BadSignature otherwise."""
    if not header:
        raise BadSignature("no X-Safesignal-Signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) < 16:
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise BadSignature("X-Safesignal-Signature lacks t or v1")
    if abs(now - timestamp) > MAX_AGE:
        raise BadSignature("X-Safesignal-Signature stale")
    expected = generic_signature(secret, body, timestamp).rpartition("v1=")[2].encode("ascii")
    if not any(hmac.compare_digest(expected, given.encode("ascii", "replace")) for given in candidates):
        raise BadSignature("X-Safesignal-Signature does not match")


_GENERIC_STATES = {"delivered": "delivered", "failed": "failed", "pending": "pending"}


class GenericGateway:
    """A self-hosted gateway speaking the signed JSON described in the module docstring."""

    name = "generic"

    def __init__(self, secret: str, send_url: str, *, clock: Clock = _utcnow):
        self._secret = secret
        self._send_url = send_url
        self._clock = clock
        self._sender = _Sender(self.name)

    def __repr__(self) -> str:
        return "GenericGateway()"

    def _verified(self, headers: Mapping[str, str], body: bytes) -> _Fields:
        verify_generic(self._secret, _header(headers, "X-Safesignal-Signature"), body, self._clock().timestamp())
        return _Fields(_json_object(body))

    def inbound(self, url: str, headers: Mapping[str, str], body: bytes) -> Inbound:
        """Verify and read an inbound text ({"id", "from", "to", "text", "parts"?})."""
        fields = self._verified(headers, body)
        message_id = fields.string("id")
        sender = fields.string("from")
        recipient = fields.recipient("to", fields.string("to"))
        text = fields.string("text", "")
        segments = fields.count("parts", fields.data.get("parts"))
        fields.check()
        return Inbound(message_id, sender, recipient, text, segments)

    def receipt(self, url: str, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Verify and read a receipt ({"id", "status"})."""
        fields = self._verified(headers, body)
        message_id = fields.string("id")
        state = fields.state("status", fields.string("status"), _GENERIC_STATES)
        fields.check()
        return Receipt(message_id, state)

    def acknowledgement(self) -> tuple[bytes, str]:
        return _JSON_ACK

    def send(self, sender: str, to: str, text: str, status_url: str) -> str:
        """POST the signed text to the gateway's send URL."""
        body = json.dumps({"to": to, "from": sender, "text": text, "status_url": status_url}).encode("utf-8")
        signature = generic_signature(self._secret, body, int(self._clock().timestamp()))
        headers = {"Content-Type": "application/json", "X-Safesignal-Signature": signature}
        return self._sender.post(self._send_url, content=body, headers=headers, id_field="id")

    def close(self) -> None:
        self._sender.close()
