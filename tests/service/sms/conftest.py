"""The SMS tests' app: every provider configured, sending to a local gateway emulator.

`app_config` adds the SMS settings to tests/conftest.py's, so `app`, `client` and the database
fixtures run with the channel on, on SQLite and PostgreSQL. The emulator runs in this process
(`emulator`, real HTTP on a free port) or as its own process (`emulator_process`, for the end to
end test); either signs with the same secrets the app verifies.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sms_support import wait_for as shared_wait_for
from support import free_port
from werkzeug.serving import WSGIRequestHandler, make_server

from service.sms.emulator import serve


@pytest.fixture
def emulator_port() -> int:
    return free_port()


@pytest.fixture
def service_port() -> int:
    return free_port()


@pytest.fixture
def sms_settings(emulator_port: int, service_port: int) -> dict[str, Any]:
    emulator = f"http://127.0.0.1:{emulator_port}"
    return {
        "SMS_PROVIDER": "twilio",
        "SMS_TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "SMS_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SMS_TWILIO_API_URL": emulator,
        "SMS_VONAGE_API_KEY": secrets.token_hex(4),
        "SMS_VONAGE_API_SECRET": secrets.token_hex(8),
        "SMS_VONAGE_SIGNATURE_SECRET": secrets.token_hex(16),
        "SMS_VONAGE_API_URL": emulator,
        "SMS_GENERIC_SECRET": secrets.token_hex(16),
        "SMS_GENERIC_SEND_URL": f"{emulator}/generic/send",
        "SMS_WEBHOOK_URL": f"http://127.0.0.1:{service_port}",
    }


@pytest.fixture
def app_config(app_config: dict[str, object], sms_settings: dict[str, Any]) -> dict[str, object]:
    return {**app_config, **sms_settings}


class _Quiet(WSGIRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def address_string(self) -> str:
        return "[address]"


@pytest.fixture
def live(app, service_port: int) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served over real HTTP on `service_port` (its SMS_WEBHOOK_URL)."""
    server = make_server("127.0.0.1", service_port, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{service_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def emulator(live: str, emulator_port: int, sms_settings: dict[str, Any]) -> Iterator[Any]:
    """The emulator in this process, posting to the live app."""
    server, thread = serve(emulator_port, live, sms_settings, "twilio", status_delay=0.01)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def emulator_process(live: str, emulator_port: int, sms_settings: dict[str, Any], tmp_path: Path) -> Iterator[Path]:
    """The emulator as its own process (`python -m service.sms.emulator`); yields its log file."""
    log = tmp_path / "emulator.log"
    environment = {**os.environ, **{f"SAFESIGNAL_{key}": value for key, value in sms_settings.items()}}
    output = (tmp_path / "emulator.out").open("wb")  # its stdout and stderr: files the scans read too
    process = subprocess.Popen(
        [sys.executable, "-m", "service.sms.emulator", "--port", str(emulator_port), "--service", live, "--log", str(log)],
        env=environment, stdout=output, stderr=subprocess.STDOUT,
    )
    try:
        shared_wait_for(lambda: _answers(f"http://127.0.0.1:{emulator_port}/emulator/messages"), timeout=20)
        yield log
    finally:
        process.terminate()
        process.wait(timeout=10)
        output.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def wait_for() -> Callable[..., None]:
    def waiting(condition: Callable[[], object], what: str = "", seconds: float = 20) -> None:
        shared_wait_for(condition, timeout=seconds)

    return waiting
