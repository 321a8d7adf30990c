"""What the tests of codes sent by SMS share: the app and the SMS emulator, each a real HTTP server, wired
to each other; and a search for a phone number through every table of both databases.

The app sends through Twilio's API as the emulator speaks it (service/sms/emulator.py); the emulator
posts its signed delivery receipts back to the app's webhook, which deletes the delivered text from
the outbox. Twilio because its receipts are signed without a timestamp: the app's clock is frozen in
2026, which a Vonage JWT's `iat` would fail.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, MetaData, select
from werkzeug.serving import WSGIRequestHandler, make_server

from service.sms import emulator
from support import free_port

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-0123456789abcdef"

# The person's number as typed at the counter, and every form it could be stored or logged in.
NUMBER = "0470 12 34 56"
NUMBER_FORMS = ("+32470123456", "32470123456", "0032470123456", "0470 12 34 56", "0470123456", "470123456",
                "+32 470 12 34 56", "0470/12.34.56", "470 12 34 56")


class _QuietHandler(WSGIRequestHandler):
    """No access log (as production's gunicorn), HTTP/1.0 so no keep-alive thread outlives the test."""

    protocol_version = "HTTP/1.0"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class LiveSms:
    """The app at `url` sending texts through the emulator at `emulator_url`."""

    app: Any
    url: str
    emulator_url: str
    emulator: emulator.EmulatorServer

    def messages(self) -> list[dict[str, str]]:
        """The phones' inbox, read over HTTP as a test of the emulator would."""
        return httpx.get(f"{self.emulator_url}/emulator/messages").json()  # type: ignore[no-any-return]

    def fail_next(self, count: int, status: int) -> None:
        httpx.post(f"{self.emulator_url}/emulator/fail", json={"count": count, "status": status}).raise_for_status()


def sms_settings(emulator_url: str, app_url: str) -> dict[str, str]:
    """The app's SMS settings (without the SAFESIGNAL_ prefix) for Twilio at the emulator."""
    return {"SMS_PROVIDER": "twilio", "SMS_TWILIO_ACCOUNT_SID": SID, "SMS_TWILIO_AUTH_TOKEN": TOKEN,
            "SMS_TWILIO_API_URL": emulator_url, "SMS_WEBHOOK_URL": app_url}


@contextlib.contextmanager
def live_sms(build: Callable[..., Any], folder: Path, **overrides: Any) -> Iterator[LiveSms]:
    """Build an app with `build` (tests/conftest.py's app_with) sending through a fresh emulator, and serve
    both. The demo's SMS file gives its places as [lat, lon], which fall in the tests' areas too."""
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    server, thread = emulator.serve(0, app_url, sms_settings("", app_url), "twilio", status_delay=0.05)
    emulator_url = f"http://127.0.0.1:{server.server_address[1]}"
    app = build(**sms_settings(emulator_url, app_url), **overrides)
    live = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    serving = threading.Thread(target=live.serve_forever, kwargs={"poll_interval": 0.05}, name="live-app", daemon=True)
    serving.start()
    try:
        yield LiveSms(app, app_url, emulator_url, server)
    finally:
        live.shutdown()
        live.server_close()
        serving.join(timeout=10)
        for gateway in app.extensions["safesignal"].sms.gateways.values():
            gateway.close()  # its pooled connection to the emulator
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def dump_databases(app: Any) -> str:
    """Every row of every table of the main database and of the key vault, as text (bytes as Latin-1 too)."""
    state = app.extensions["safesignal"]
    lines = []
    for engine in (state.engine, state.keys_engine):
        lines.extend(_dump(engine))
    return "\n".join(lines)


def _dump(engine: Engine) -> list[str]:
    tables = MetaData()
    tables.reflect(engine)
    lines = []
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    lines.append(repr(value))
                    if isinstance(value, (bytes, memoryview)):
                        lines.append(bytes(value).decode("latin-1"))
    return lines


def number_in(text: str) -> list[str]:
    """The forms of NUMBER found in `text` (none, we hope)."""
    return [form for form in NUMBER_FORMS if form in text]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy; its value (AssertionError at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
