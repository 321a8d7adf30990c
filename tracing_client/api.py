"""Talking to the safesignal tracing endpoints as an app does.

Every request is padded to one size per endpoint, and `fake=True` sends a fake request (header
`SafeSignal-Fake: 1`) that the server answers like a real success without changing anything: an
app sends such requests at random so that its traffic does not tell whether its owner tested
positive. A transport is anything with `post(path, body, headers)` and `get(path, headers)`
returning (status, headers, body): `HttpTransport` for a running server, or the tests' adapter
around Flask's test client.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec
from stdnum import damm

from crypto.exposure_export import ExportFile, read_export

PREFIX = "/v1/tracing"
FAKE_HEADER = "SafeSignal-Fake"
# Request sizes: a code exchange, and an upload (30 keys fit).
EXCHANGE_BYTES = 512
UPLOAD_BYTES = 6144


class TracingClientError(Exception):
    """The server refused a request; `status` and the server's `message`."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class Transport(Protocol):
    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]: ...

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]: ...


class HttpTransport:
    """HTTP(S) to a running server, with the standard library."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _open(self, request: urllib.request.Request) -> tuple[int, Mapping[str, str], bytes]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        return self._open(urllib.request.Request(self.base_url + path, data=body, headers=dict(headers), method="POST"))

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        return self._open(urllib.request.Request(self.base_url + path, headers=dict(headers), method="GET"))


def padded_body(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON with random padding, exactly `size` bytes."""
    bare = json.dumps({**body, "padding": ""}, separators=(",", ":")).encode()
    room = size - len(bare)
    if room < 0:
        raise ValueError("request larger than its padded size")
    filler = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(room))
    return json.dumps({**body, "padding": filler}, separators=(",", ":")).encode()


def _headers(fake: bool) -> dict[str, str]:
    return {"Content-Type": "application/json", FAKE_HEADER: "1" if fake else "0"}


def _answer(status: int, body: bytes, expected: int = 200) -> dict[str, Any]:
    data = json.loads(body) if body else {}
    if status != expected:
        raise TracingClientError(status, str(data.get("message", "")))
    return data


def issue_code(transport: Transport, pharmacy_token: str, *, test_date: str | None = None, symptom_onset: str | None = None) -> str:
    """What a testing pharmacy does after a positive test: a one-time code to read out."""
    body = {"test_date": test_date} if test_date else {"symptom_onset": symptom_onset}
    status, _, answer = transport.post(
        PREFIX + "/codes", json.dumps(body).encode(), {"Content-Type": "application/json", "Authorization": f"Bearer {pharmacy_token}"}
    )
    return str(_answer(status, answer, 201)["code"])


def exchange(transport: Transport, code: str, *, fake: bool = False) -> str:
    """Redeem a code for an upload token (a fake exchange sends a random code of the same shape)."""
    if fake:  # random, with a right check digit, as a person would type it
        digits = "".join(secrets.choice(string.digits) for _ in range(11))
        code = digits + damm.calc_check_digit(digits)
    status, _, answer = transport.post(PREFIX + "/verify", padded_body({"code": code}, EXCHANGE_BYTES), _headers(fake))
    return str(_answer(status, answer)["token"])


def upload(transport: Transport, token: str, keys: list[dict[str, object]], *, fake: bool = False) -> dict[str, Any]:
    """Upload keys with a token; the answer says how many were stored and held back.

    A fake upload sends random key data in place of the phone's keys (same count and metadata):
    a healthy person's keys never leave the phone.
    """
    if fake:
        keys = [{**key, "key_data": base64.b64encode(secrets.token_bytes(16)).decode()} for key in keys]
    status, _, answer = transport.post(PREFIX + "/keys", padded_body({"token": token, "keys": keys}, UPLOAD_BYTES), _headers(fake))
    return _answer(status, answer)


@dataclass
class Downloader:
    """Fetches the index and the files not seen before, verifying each signature."""

    transport: Transport
    public_key: ec.EllipticCurvePublicKey
    etags: dict[str, str] | None = None

    def index(self) -> list[str]:
        status, _, body = self.transport.get(PREFIX + "/exports/index.txt", {})
        if status != 200:
            raise TracingClientError(status, "index")
        return [line for line in body.decode().splitlines() if line]

    def files(self, names: list[str]) -> list[ExportFile]:
        """Download and verify; a file that fails verification raises (crypto.exposure_export.ExportError).
        A file retention deleted since a cached index listed it (404) is skipped."""
        self.etags = self.etags if self.etags is not None else {}
        verified = []
        for name in names:
            status, headers, body = self.transport.get(f"{PREFIX}/exports/{name}", {})
            if status == 404:
                continue
            if status != 200:
                raise TracingClientError(status, name)
            verified.append(read_export(body, self.public_key))
            self.etags[name] = str(headers.get("ETag", ""))
        return verified
