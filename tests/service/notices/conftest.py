"""The notices tests' app: the deployment of notices_support, SMS through the emulator (real HTTP),
e-mail to a real SMTP server, and the SMS gateways' connections closed after each test."""

from __future__ import annotations

import pytest
from notices_support import TWILIO_SID, TWILIO_TOKEN, area_file, sms_file
from support import free_port, smtp_server

from service.sms import emulator


@pytest.fixture
def provider_api():  # type: ignore[no-untyped-def]
    """The SMS emulator standing in for Twilio; its receipts go to a closed port (not looked at here)."""
    server, thread = emulator.serve(free_port(), f"http://127.0.0.1:{free_port()}",
                                    {"SMS_TWILIO_ACCOUNT_SID": TWILIO_SID, "SMS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}, "twilio")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with smtp_server() as served:
        yield served


@pytest.fixture
def app_config(app_config, tmp_path, provider_api, smtp):  # type: ignore[no-untyped-def]
    """Two municipalities, SMS through the emulator, SMTP to the local server, little noise (epsilon 50)."""
    controller, _ = smtp
    return {
        **app_config, "AREAS_MODE": "polygons", "AREAS_FILE": str(area_file(tmp_path / "areas.geojson")),
        "SMS_FILE": str(sms_file(tmp_path / "sms.toml")), "SMS_PROVIDER": "twilio",
        "SMS_TWILIO_ACCOUNT_SID": TWILIO_SID, "SMS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "SMS_TWILIO_API_URL": provider_api,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": controller.port, "SMTP_STARTTLS": False,
        "SMTP_FROM": "safesignal <no-reply@example.be>", "PUBLIC_URL": "https://safesignal.example.be",
        "SIGNALS_EPSILON_PER_RELEASE": 50, "SIGNALS_BUDGET_PER_QUARTER": 1000,
    }


def _close_gateways(app) -> None:  # type: ignore[no-untyped-def]
    # Their HTTP clients keep a connection to the emulator open (a ResourceWarning once collected).
    for gateway in app.extensions["safesignal"].sms.gateways.values():
        gateway.close()


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    yield app
    _close_gateways(app)


@pytest.fixture
def app_with(app_with):  # type: ignore[no-untyped-def]
    built = []

    def build(**overrides):  # type: ignore[no-untyped-def]
        built.append(app_with(**overrides))
        return built[-1]

    yield build
    for application in built:
        _close_gateways(application)
