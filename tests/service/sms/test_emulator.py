"""The gateway emulator over real HTTP: its webhooks verify with the gateways, its sends come back as
signed status callbacks, its controls (fail, reset, replay, tamper) work, and its log names no phone.

The "service" here is a small HTTP server that hands each webhook to gateways(settings)[provider],
as the coordinator's views will: what it accepts, the real gateway code accepted.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from support import free_port

from service.sms import emulator
from service.sms.gateways import BadSignature, Inbound, MalformedWebhook, Receipt, SendError, gateways

SETTINGS = {"SMS_TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "SMS_TWILIO_AUTH_TOKEN": "twilio-auth-token-0123456789abcdef",
            "SMS_VONAGE_API_KEY": "vonage-key", "SMS_VONAGE_API_SECRET": "vonage-api-secret",
            "SMS_VONAGE_SIGNATURE_SECRET": "vonage-signature-secret-0123456789abcdef",
            "SMS_GENERIC_SECRET": "generic-shared-secret-0123456789abcdef"}
PHONE = "+32470123456"
OTHER_PHONE = "+32471654321"
MUNICIPAL = "+3215123456"


class Service(ThreadingHTTPServer):
    """Stands in for safesignal's webhook views: verify with the gateway, record, answer."""

    daemon_threads = True
    block_on_close = False  # a keep-alive connection left open must not hold up shutdown

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), _ServiceHandler)
        self.base = f"http://127.0.0.1:{port}"
        self.gateways = gateways({**SETTINGS, "SMS_GENERIC_SEND_URL": "http://127.0.0.1:9/unused"})
        self.received: list[tuple[str, Inbound | Receipt]] = []

    def wait_for(self, count: int) -> list[tuple[str, Inbound | Receipt]]:
        deadline = time.monotonic() + 10
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


class _ServiceHandler(BaseHTTPRequestHandler):
    server: Service

    def log_message(self, format, *args):  # type: ignore[no-untyped-def]
        pass

    def do_POST(self) -> None:
        _, v1, sms, provider, kind = self.path.split("?")[0].split("/")
        body = self.rfile.read(int(self.headers["Content-Length"]))
        gateway = self.server.gateways[provider]
        url = self.server.base + self.path
        try:
            read = gateway.inbound(url, self.headers, body) if kind == "inbound" else gateway.receipt(url, self.headers, body)
        except BadSignature:
            status, answer = 403, (b"", "text/plain")
        except MalformedWebhook:
            status, answer = 400, (b"", "text/plain")
        else:
            self.server.received.append((provider, read))
            status, answer = 200, gateway.acknowledgement()
        self.send_response(status)
        self.send_header("Content-Type", answer[1])
        self.send_header("Content-Length", str(len(answer[0])))
        self.end_headers()
        self.wfile.write(answer[0])


@pytest.fixture
def service():
    server = Service(free_port())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    for gateway in server.gateways.values():
        gateway.close()


@pytest.fixture
def emulated(service):
    server, thread = emulator.serve(free_port(), service.base, SETTINGS, "twilio", status_delay=0.01)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
@pytest.mark.parametrize("text", ["HULP 2800", "", "ПОМОЩЬ 2800 🆘", "HULP 2800 " + "é€" * 400])
def test_inbound_webhooks_verify_with_the_gateways(service, emulated, provider, text):
    answer = httpx.post(f"{emulated}/emulator/inbound",
                        json={"from": PHONE, "to": MUNICIPAL, "text": text, "provider": provider}).json()
    assert answer["status"] == 200
    [(received_by, inbound)] = service.received
    assert received_by == provider
    assert inbound == Inbound(answer["message_id"], inbound.sender, MUNICIPAL, text, emulator.segments(text))
    assert inbound.sender.lstrip("+") == PHONE.lstrip("+")


@pytest.mark.parametrize("provider", ["twilio", "vonage", "generic"])
def test_tampered_inbound_is_refused_and_a_replay_keeps_its_id(service, emulated, provider):
    answer = httpx.post(f"{emulated}/emulator/inbound", json={
        "from": PHONE, "to": MUNICIPAL, "text": "HULP 2800", "provider": provider, "bad_signature": True}).json()
    assert answer["status"] == 403 and service.received == []
    for _ in range(2):
        answer = httpx.post(f"{emulated}/emulator/inbound", json={
            "from": PHONE, "to": MUNICIPAL, "text": "HULP 2800", "provider": provider, "message_id": "replayed-1"})
        assert answer.json() == {"status": 200, "message_id": "replayed-1"}
    assert [inbound.message_id for _, inbound in service.received] == ["replayed-1", "replayed-1"]


def test_the_default_provider_and_refusals_of_the_control_endpoint(service, emulated):
    assert httpx.post(f"{emulated}/emulator/inbound", json={"from": PHONE, "to": MUNICIPAL, "text": "x"}).json()[
        "message_id"].startswith("SM")
    assert service.received[0][0] == "twilio"
    assert httpx.post(f"{emulated}/emulator/inbound", json={"from": PHONE, "to": MUNICIPAL, "provider": "sms"}
                      ).status_code == 400
    assert httpx.post(f"{emulated}/emulator/inbound", json={"to": MUNICIPAL}).status_code == 400
    assert httpx.post(f"{emulated}/emulator/inbound", content=b"[").status_code == 400


def test_an_unreachable_service_is_reported(emulated):
    server, thread = emulator.serve(free_port(), f"http://127.0.0.1:{free_port()}", SETTINGS, "generic")
    try:
        answer = httpx.post(f"http://127.0.0.1:{server.server_address[1]}/emulator/inbound",
                            json={"from": PHONE, "to": MUNICIPAL, "text": "x"})
        assert answer.status_code == 502 and answer.json()["status"] is None
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("provider", "states"), [
    ("twilio", ["pending", "delivered"]), ("vonage", ["delivered"]), ("generic", ["delivered"]),
])
def test_sends_come_back_as_signed_status_callbacks(service, emulated, provider, states):
    gateway = gateways({**SETTINGS, "SMS_TWILIO_API_URL": emulated, "SMS_VONAGE_API_URL": emulated,
                        "SMS_GENERIC_SEND_URL": f"{emulated}/generic/send"})[provider]
    message_id = gateway.send(MUNICIPAL, PHONE, "Bedankt, uw melding is ontvangen.",
                              f"{service.base}/v1/sms/{provider}/status?outbox=7")
    gateway.close()
    received = service.wait_for(len(states))
    time.sleep(0.05)  # nothing more arrives
    assert service.received == received == [(provider, Receipt(message_id, state)) for state in states]
    [message] = httpx.get(f"{emulated}/emulator/messages").json()
    assert (message["id"], message["text"], message["provider"]) == (
        message_id, "Bedankt, uw melding is ontvangen.", provider)
    assert message["to"].lstrip("+") == PHONE.lstrip("+")


def test_fail_refuses_the_next_sends_then_recovers_and_reset_forgets(emulated):
    gateway = gateways({**SETTINGS, "SMS_GENERIC_SEND_URL": f"{emulated}/generic/send"})["generic"]
    assert httpx.post(f"{emulated}/emulator/fail", json={"count": 2, "status": 429}).status_code == 200
    codes = []
    for _ in range(3):
        try:
            gateway.send(MUNICIPAL, PHONE, "x", "http://127.0.0.1:9/status")
            codes.append("sent")
        except SendError as error:
            codes.append(str(error))
    assert codes == ["HTTP 429 from generic", "HTTP 429 from generic", "sent"]
    assert len(httpx.get(f"{emulated}/emulator/messages").json()) == 1
    assert httpx.post(f"{emulated}/emulator/fail", json={"count": 1, "status": 200}).status_code == 400
    httpx.post(f"{emulated}/emulator/fail", json={"count": 5, "status": 503})
    httpx.post(f"{emulated}/emulator/reset")
    gateway.send(MUNICIPAL, PHONE, "x", "http://127.0.0.1:9/status")
    gateway.close()
    assert len(httpx.get(f"{emulated}/emulator/messages").json()) == 1


def test_the_log_names_phones_by_alias_and_shows_no_inbound_text(service, emulated, caplog):
    caplog.set_level(logging.INFO, logger="safesignal.sms.emulator")
    for sender, provider in ((PHONE, "twilio"), (OTHER_PHONE, "vonage"), (PHONE, "vonage")):
        httpx.post(f"{emulated}/emulator/inbound", json={
            "from": sender, "to": MUNICIPAL, "text": "HULP 2800 mijn buurman", "provider": provider})
    gateway = gateways({**SETTINGS, "SMS_TWILIO_API_URL": emulated, "SMS_GENERIC_SEND_URL": f"{emulated}/generic/send"})[
        "twilio"]
    gateway.send(MUNICIPAL, OTHER_PHONE, "Bedankt, code 4711", f"{service.base}/v1/sms/twilio/status")
    gateway.close()
    service.wait_for(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "safesignal.sms.emulator"]
    inbound = [line for line in lines if line.startswith("inbound")]
    assert len(inbound) == 3
    assert ["phone-1", "phone-2", "phone-1"] == [line.split()[3] for line in inbound]
    assert all(f"-> {MUNICIPAL} (22 chars): service 200" in line for line in inbound)
    assert any(line.startswith("reply SM") and 'to phone-2: "Bedankt, code 4711"' in line for line in lines)
    text = "\n".join(lines)
    for secret in ("470123456", "471654321", "buurman"):
        assert secret not in text


def test_segments_count_gsm7_and_ucs2_parts():
    assert [emulator.segments(t) for t in ("", "a" * 160, "a" * 161, "a" * 306, "a" * 307)] == [1, 1, 2, 2, 3]
    assert [emulator.segments(t) for t in ("€" * 80, "€" * 81)] == [1, 2]  # extension characters count twice
    assert [emulator.segments(t) for t in ("ж" * 70, "ж" * 71, "ж" * 134, "ж" * 135)] == [1, 2, 2, 3]
    assert emulator.segments("🆘" * 35) == 1 and emulator.segments("🆘" * 36) == 2  # surrogate pairs: two units


def test_command_line_serves_and_logs_to_a_file(service, tmp_path):
    port = free_port()
    log_file = tmp_path / "emulator.log"
    env = {**os.environ, **{f"SAFESIGNAL_{key}": value for key, value in SETTINGS.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "service.sms.emulator", "--port", str(port), "--service", service.base,
         "--provider", "vonage", "--log", str(log_file)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/emulator/inbound",
                                    json={"from": PHONE, "to": MUNICIPAL, "text": "HULP 2800"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert answer.json()["status"] == 200
        assert service.received[0][0] == "vonage"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    logged = log_file.read_text()
    assert "providers: twilio, vonage, generic" in logged
    assert "inbound vonage" in logged and "phone-1" in logged and "service 200" in logged
    assert "470123456" not in logged + output.decode() and "HULP" not in logged
    assert len(logged.splitlines()) == 2
