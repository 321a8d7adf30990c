"""A local SMS gateway emulator: the providers' REST APIs and the residents' phones, on one HTTP port.

Run it beside the service (``python -m service.sms.emulator --port 8025 --service
http://127.0.0.1:8000 [--provider twilio] [--log FILE]``), or start it in a test with :func:`serve`.
It reads the same settings as the service (``SAFESIGNAL_SMS_*`` from the environment on the command
line), so what it signs the service verifies, and what the service signs it verifies. Point the
service's ``SMS_TWILIO_API_URL`` / ``SMS_VONAGE_API_URL`` at it, and ``SMS_GENERIC_SEND_URL`` at
``http://127.0.0.1:8025/generic/send``.

What it speaks, the subset of each provider the service uses:

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (Twilio; basic auth ``sid:token``, else 401) -> 201
  ``{"sid": "SM" + 32 hex, "status": "queued"}``, then status callbacks "sent" and "delivered", signed
  with X-Twilio-Signature, to the StatusCallback given (else ``{service}/v1/sms/twilio/status``);
- ``POST /v1/messages`` (Vonage; basic auth ``key:secret``) -> 202 ``{"message_uuid"}``, then a
  JWT-signed status "delivered" to ``{service}/v1/sms/vonage/status``;
- ``POST /generic/send`` (X-Safesignal-Signature verified, else 401) -> 200 ``{"id"}``, then a signed
  receipt "delivered" to the status_url given.

And its control endpoints, for tests and ``safesignal sms simulate``:

- ``POST /emulator/inbound`` ``{"from", "to", "text", "provider"?, "bad_signature"?, "message_id"?}``:
  a phone texts the service. The emulator builds the provider's native webhook (form for Twilio,
  JWT-signed JSON for Vonage, signed JSON for generic), posts it to
  ``{service}/v1/sms/<provider>/inbound`` and answers ``{"status": <the service's HTTP status>,
  "message_id"}``. ``bad_signature`` tampers with the body after signing; ``message_id`` replays one.
- ``GET /emulator/messages``: the texts sent so far, ``[{"to", "from", "text", "id", "provider"}]``,
  the phones' inbox (so a test can read a code sent by SMS). In memory only.
- ``POST /emulator/fail`` ``{"count": n, "status": 503}``: the next n sends are refused with that status.
- ``POST /emulator/reset``: forget messages, pending failures and phone aliases.

Its log (logger ``safesignal.sms.emulator``; stdout and ``--log FILE`` on the command line) has one
line per event. A phone's number never appears in it: phones are named phone-1, phone-2, ... in the
order they are first seen (the aliases live in memory only), and an inbound text shows only its
length. The municipal numbers, which are public, and the service's replies are shown.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import math
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import phonenumbers

from service.sms.gateways import BadSignature, generic_signature, twilio_signature, verify_generic

__all__ = ["EmulatorServer", "main", "segments", "serve"]

log = logging.getLogger("safesignal.sms.emulator")

PROVIDERS = ("twilio", "vonage", "generic")
_MAX_BODY = 1 << 20
_TWILIO_SEND = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")

# GSM 03.38: the default alphabet (one septet each) and its extension table (two: escape + char).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("\x0c^{}\\[~]|€")


def segments(text: str) -> int:
    """How many SMS parts a text takes: GSM-7 (160, or 153 a part when split) else UCS-2 (70, or 67)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text):
        septets = sum(2 if char in _GSM_EXTENSION else 1 for char in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


class _Phones:
    """Aliases for phone numbers, so the log can tell phones apart without naming them."""

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {}

    def alias(self, number: str) -> str:
        key = re.sub(r"\D", "", number) or number  # "+32470..." and Vonage's "32470..." are one phone
        if key not in self._aliases:
            self._aliases[key] = f"phone-{len(self._aliases) + 1}"
        return self._aliases[key]


class EmulatorServer(ThreadingHTTPServer):
    """The HTTP server, holding the emulator's state: the phones' inbox, pending failures, aliases."""

    daemon_threads = True
    block_on_close = False  # a keep-alive connection left open must not hold up shutdown

    def __init__(self, port: int, service_url: str, settings: Mapping[str, Any], provider: str,
                 *, status_delay: float = 0.1):
        super().__init__(("127.0.0.1", port), _Handler)
        self.service_url = service_url.rstrip("/")
        self.settings = {key: str(value) for key, value in settings.items() if value}
        self.provider = provider
        self.status_delay = status_delay
        self.lock = threading.Lock()
        self.messages: list[dict[str, str]] = []
        self.failures: list[int] = []
        self.phones = _Phones()
        self.client = httpx.Client(timeout=10.0)

    def server_close(self) -> None:
        super().server_close()
        self.client.close()

    def setting(self, name: str) -> str:
        return self.settings.get(f"SMS_{name}", "")

    def configured(self, provider: str) -> bool:
        needs = {"twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
                 "vonage": ("VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_SIGNATURE_SECRET"),
                 "generic": ("GENERIC_SECRET",)}.get(provider)
        return bool(needs) and all(self.setting(name) for name in needs)

    def alias(self, number: str) -> str:
        with self.lock:
            return self.phones.alias(number)

    def take_failure(self) -> int | None:
        """The status the next send is refused with, if a failure is pending."""
        with self.lock:
            return self.failures.pop(0) if self.failures else None

    def record(self, provider: str, message_id: str, sender: str, to: str, text: str) -> None:
        with self.lock:
            self.messages.append({"to": to, "from": sender, "text": text, "id": message_id, "provider": provider})
            alias = self.phones.alias(to)
        log.info("reply %s to %s: %s", message_id, alias, json.dumps(text, ensure_ascii=False))

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.failures.clear()
            self.phones = _Phones()

    # --- posting to the service ---

    def post(self, url: str, **request: Any) -> int | None:
        """POST to the service; its HTTP status, or None when it cannot be reached."""
        try:
            return self.client.post(url, **request).status_code
        except (httpx.HTTPError, RuntimeError):  # RuntimeError: the emulator stopped, its client is closed
            return None

    def later(self, callbacks: list[Callable[[], None]]) -> None:
        """Run status callbacks one after another in a thread, after the send's answer has gone out."""
        def run() -> None:
            for callback in callbacks:
                time.sleep(self.status_delay)
                callback()
        threading.Thread(target=run, name="sms-emulator-status", daemon=True).start()

    def status(self, provider: str, message_id: str, state: str, url: str, **request: Any) -> None:
        answer = self.post(url, **request)
        log.info("status %s %s %s: service %s", provider, message_id, state, answer or "unreachable")

    # --- native webhooks ---

    def twilio_form(self, url: str, fields: dict[str, str], *, tamper: bool = False) -> dict[str, Any]:
        """A Twilio form POST to url, signed (then, for tamper, altered)."""
        signature = twilio_signature(self.setting("TWILIO_AUTH_TOKEN"), url, {k: [v] for k, v in fields.items()})
        if tamper:
            fields = {**fields, "Body": fields.get("Body", "") + "!"}
        return {"content": urllib.parse.urlencode(fields).encode("ascii"),
                "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}}

    def vonage_json(self, payload: dict[str, Any], *, tamper: bool = False) -> dict[str, Any]:
        """A Vonage JSON POST with its Bearer JWT (then, for tamper, the body altered)."""
        body = json.dumps(payload).encode("utf-8")
        claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
                  "payload_hash": hashlib.sha256(body).hexdigest(), "api_key": self.setting("VONAGE_API_KEY"),
                  "application_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "safesignal-emulator"))}
        token = jwt.encode(claims, self.setting("VONAGE_SIGNATURE_SECRET"), algorithm="HS256")
        if tamper:
            body = json.dumps({**payload, "text": str(payload.get("text", "")) + "!"}).encode("utf-8")
        return {"content": body, "headers": {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}}

    def generic_json(self, payload: dict[str, Any], *, tamper: bool = False) -> dict[str, Any]:
        """A generic JSON POST with its X-Safesignal-Signature (then, for tamper, the body altered)."""
        body = json.dumps(payload).encode("utf-8")
        signature = generic_signature(self.setting("GENERIC_SECRET"), body, int(time.time()))
        if tamper:
            body = json.dumps({**payload, "text": str(payload.get("text", "")) + "!"}).encode("utf-8")
        return {"content": body,
                "headers": {"Content-Type": "application/json", "X-Safesignal-Signature": signature}}


def _country(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse("+" + number.lstrip("+"))) or ""
    except phonenumbers.NumberParseException:
        return ""


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, each answer on a kept-alive
    # connection would wait ~40 ms for the client's delayed ACK (Nagle), a floor no provider has.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line is not worth a log line, our events are logged where they happen."""

    # --- plumbing ---

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_BODY))

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _json(self, body: bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _basic_auth(self, user: str, password: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return bool(user) and self.headers.get("Authorization", "") == expected

    def _refused(self, provider: str) -> bool:
        """Answer an emulated failure if one is pending."""
        status = self.server.take_failure()
        if status is None:
            return False
        log.info("send %s refused: HTTP %s (emulated failure)", provider, status)
        self._answer(status, {"status": status, "title": "emulated failure"})
        return True

    # --- routes ---

    def do_GET(self) -> None:
        if self.path == "/emulator/messages":
            with self.server.lock:
                messages = list(self.server.messages)
            self._answer(200, messages)
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        twilio = _TWILIO_SEND.match(self.path)
        if twilio:
            self._twilio_send(urllib.parse.unquote(twilio.group(1)), body)
        elif self.path == "/v1/messages":
            self._vonage_send(body)
        elif self.path == "/generic/send":
            self._generic_send(body)
        elif self.path == "/emulator/inbound":
            self._inbound(body)
        elif self.path == "/emulator/fail":
            self._fail(body)
        elif self.path == "/emulator/reset":
            self.server.reset()
            log.info("reset")
            self._answer(200, {"status": "reset"})
        else:
            self._answer(404, {"error": "not found"})

    def _twilio_send(self, sid: str, body: bytes) -> None:
        server = self.server
        account, token = server.setting("TWILIO_ACCOUNT_SID"), server.setting("TWILIO_AUTH_TOKEN")
        if sid != account or not self._basic_auth(account, token):
            log.info("send twilio refused: bad credentials")
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        if self._refused("twilio"):
            return
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if not form.get("To") or not form.get("From") or not form.get("Body"):
            self._answer(400, {"code": 21602, "message": "A 'To', 'From' and 'Body' are required", "status": 400})
            return
        message_id = "SM" + uuid.uuid4().hex
        self._answer(201, {"sid": message_id, "status": "queued", "account_sid": account,
                           "num_segments": str(segments(form["Body"]))})
        server.record("twilio", message_id, form["From"], form["To"], form["Body"])
        url = form.get("StatusCallback") or f"{server.service_url}/v1/sms/twilio/status"

        def callback(state: str) -> Callable[[], None]:
            fields = {"MessageSid": message_id, "SmsSid": message_id, "MessageStatus": state, "SmsStatus": state,
                      "AccountSid": account, "From": form["From"], "To": form["To"], "ApiVersion": "2010-04-01"}
            return lambda: server.status("twilio", message_id, state, url, **server.twilio_form(url, fields))

        server.later([callback("sent"), callback("delivered")])

    def _vonage_send(self, body: bytes) -> None:
        server = self.server
        if not self._basic_auth(server.setting("VONAGE_API_KEY"), server.setting("VONAGE_API_SECRET")):
            log.info("send vonage refused: bad credentials")
            self._answer(401, {"type": "https://developer.vonage.com/api-errors#unauthorized", "title": "Unauthorized"})
            return
        if self._refused("vonage"):
            return
        message = self._json(body)
        if not message or message.get("channel") != "sms" or not all(
            isinstance(message.get(key), str) and message[key] for key in ("to", "from", "text")
        ):
            self._answer(422, {"type": "https://developer.vonage.com/api-errors#invalid-params",
                               "title": "Invalid params"})
            return
        message_id = str(uuid.uuid4())
        self._answer(202, {"message_uuid": message_id})
        server.record("vonage", message_id, message["from"], message["to"], message["text"])
        url = f"{server.service_url}/v1/sms/vonage/status"
        status = {"message_uuid": message_id, "to": message["to"], "from": message["from"],
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "status": "delivered",
                  "channel": "sms", "usage": {"currency": "EUR", "price": "0.0700"}}
        server.later([lambda: server.status("vonage", message_id, "delivered", url, **server.vonage_json(status))])

    def _generic_send(self, body: bytes) -> None:
        server = self.server
        try:
            verify_generic(server.setting("GENERIC_SECRET"), self.headers.get("X-Safesignal-Signature"), body,
                           time.time())
        except BadSignature as refusal:
            log.info("send generic refused: %s", refusal)
            self._answer(401, {"error": "bad signature"})
            return
        if self._refused("generic"):
            return
        message = self._json(body)
        if not message or not all(isinstance(message.get(key), str) for key in ("to", "from", "text")):
            self._answer(400, {"error": "to, from and text are required"})
            return
        message_id = uuid.uuid4().hex
        self._answer(200, {"id": message_id})
        server.record("generic", message_id, message["from"], message["to"], message["text"])
        url = message.get("status_url") or f"{server.service_url}/v1/sms/generic/status"
        receipt = {"id": message_id, "status": "delivered"}
        server.later([lambda: server.status("generic", message_id, "delivered", url, **server.generic_json(receipt))])

    def _inbound(self, body: bytes) -> None:
        server = self.server
        request = self._json(body)
        if request is None:
            self._answer(400, {"error": "not a JSON object"})
            return
        provider = request.get("provider") or server.provider
        sender, to, text = request.get("from"), request.get("to"), request.get("text", "")
        if provider not in PROVIDERS or not server.configured(provider):
            self._answer(400, {"error": "provider unknown or not configured"})
            return
        if not isinstance(sender, str) or not sender or not isinstance(to, str) or not to or not isinstance(text, str):
            self._answer(400, {"error": "from, to and text are required"})
            return
        tamper = bool(request.get("bad_signature"))
        url = f"{server.service_url}/v1/sms/{provider}/inbound"
        parts = str(segments(text))
        if provider == "twilio":
            message_id = str(request.get("message_id") or "") or "SM" + uuid.uuid4().hex
            fields = {"ToCountry": _country(to), "SmsMessageSid": message_id, "NumMedia": "0", "SmsSid": message_id,
                      "SmsStatus": "received", "Body": text, "FromCountry": _country(sender), "To": to,
                      "NumSegments": parts, "MessageSid": message_id,
                      "AccountSid": server.setting("TWILIO_ACCOUNT_SID"), "From": sender, "ApiVersion": "2010-04-01"}
            native = server.twilio_form(url, fields, tamper=tamper)
        elif provider == "vonage":
            message_id = str(request.get("message_id") or "") or str(uuid.uuid4())
            payload = {"channel": "sms", "message_uuid": message_id, "to": to.lstrip("+"), "from": sender.lstrip("+"),
                       "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "text": text,
                       "sms": {"num_messages": parts}, "message_type": "text"}
            native = server.vonage_json(payload, tamper=tamper)
        else:
            message_id = str(request.get("message_id") or "") or uuid.uuid4().hex
            native = server.generic_json({"id": message_id, "from": sender, "to": to, "text": text,
                                          "parts": int(parts)}, tamper=tamper)
        status = server.post(url, **native)
        log.info("inbound %s %s %s -> %s (%d chars%s): service %s", provider, message_id, server.alias(sender), to,
                 len(text), ", signature tampered" if tamper else "", status or "unreachable")
        self._answer(200 if status else 502, {"status": status, "message_id": message_id})

    def _fail(self, body: bytes) -> None:
        request = self._json(body)
        count, status = (request or {}).get("count", 1), (request or {}).get("status", 503)
        if not isinstance(count, int) or count < 0 or not isinstance(status, int) or not 400 <= status <= 599:
            self._answer(400, {"error": "count must be an integer >= 0 and status an HTTP error status"})
            return
        with self.server.lock:
            self.server.failures = [status] * count
        log.info("next %d sends refused with HTTP %d", count, status)
        self._answer(200, {"count": count, "status": status})


def serve(port: int, service_url: str, settings: Mapping[str, Any], provider: str = "twilio",
          *, status_delay: float = 0.1) -> tuple[EmulatorServer, threading.Thread]:
    """Start the emulator on 127.0.0.1:port (0 for any free port) in a thread; stop it with
    ``server.shutdown(); server.server_close()``. settings are keyed as the service's, without SAFESIGNAL_."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
    server = EmulatorServer(port, service_url, settings, provider, status_delay=status_delay)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sms-emulator",
                              daemon=True)
    thread.start()
    return server, thread


def main(argv: list[str] | None = None, settings: Mapping[str, Any] | None = None) -> int:
    """The command line: serve until interrupted, logging to stdout and --log FILE. The settings are
    SAFESIGNAL_SMS_* from the environment unless given (`safesignal sms emulator` gives the app's)."""
    parser = argparse.ArgumentParser(prog="python -m service.sms.emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--service", default="http://127.0.0.1:8000", help="the safesignal service's base URL")
    parser.add_argument("--provider", choices=PROVIDERS, default="twilio",
                        help="the provider /emulator/inbound uses when a request names none")
    parser.add_argument("--log", metavar="FILE", help="also append the log to FILE")
    args = parser.parse_args(argv)
    if settings is None:
        settings = {key.removeprefix("SAFESIGNAL_"): value for key, value in os.environ.items()
                    if key.startswith("SAFESIGNAL_SMS_")}
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if args.log:
        handlers.append(logging.FileHandler(args.log, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    server, thread = serve(args.port, args.service, settings, args.provider)
    configured = [name for name in PROVIDERS if server.configured(name)] or ["none (set SAFESIGNAL_SMS_*)"]
    log.info("emulator on http://127.0.0.1:%d for %s, providers: %s", server.server_address[1], args.service,
             ", ".join(configured))
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
