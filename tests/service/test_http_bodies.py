"""Any byte sequence in a request body gets a 4xx in the one error shape, never a 500.

A mutation test: valid bodies of every endpoint that takes one, with bytes flipped, invalid UTF-8
(and NUL) in every string, and cut short. Seeded, so a failure names a body that fails again.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator

from support import bearer
from sqlalchemy import func, select

from service.reports.models import Report

# Byte sequences that are not UTF-8 (a lone continuation byte, an overlong NUL, a UTF-16
# surrogate, a sequence cut short, a code point past U+10FFFF) and an escaped NUL, which is
# valid JSON but which PostgreSQL refuses in a text column.
BAD_STRINGS = [b"\xff", b"ok\xc0\x80", b"\xed\xa0\x80", b"abc\xe2\x82", b"\xf4\x90\x80\x80", b"x\\u0000y"]
SEED = 20261129
FLIPS = 25
CUTS = 12
# The error bodies of these two are padded to one size (service.tracing.chaff), as documented.
PADDED = {"/v1/tracing/verify", "/v1/tracing/keys"}


def _string_paths(value: object, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _with_bytes(body: object, path: tuple, raw: bytes) -> bytes:
    """`body` as JSON with the string at `path` replaced by the bytes `raw`, as they are."""
    marker = "\u2603" + uuid.uuid4().hex
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(copy).encode().replace(marker.encode("unicode_escape"), raw, 1).replace(marker.encode(), raw, 1)


def mutants(body: object, rng: random.Random) -> Iterator[bytes]:
    """Invalid strings in every string field, flipped bytes, truncations of `body`."""
    for path in _string_paths(body):
        for raw in BAD_STRINGS:
            yield _with_bytes(body, path, raw)
    data = json.dumps(body).encode()
    for _ in range(FLIPS):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            flipped[rng.randrange(len(flipped))] ^= rng.randint(1, 255)
        yield bytes(flipped)
    for _ in range(CUTS):
        yield data[: rng.randrange(len(data))]


def assert_error_shape(response, path: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code < 400:
        return
    body = response.get_json()
    assert body["code"] == response.status_code and isinstance(body["message"], str), (path, body)
    allowed = {"code", "status", "message", "errors"} | ({"padding"} if path in PADDED else set())
    assert set(body) <= allowed, (path, sorted(body))


def _endpoints(app, client, partners, clock) -> list[tuple[str, dict, dict]]:  # type: ignore[no-untyped-def]
    """(path, valid body, headers) of every endpoint that takes a body."""
    pharmacy_id, pharmacy = partners.add("pharmacy", "Apotheek Mutant", partners.area())
    partners.run("tracing", "grant", pharmacy_id)  # so that issuing a code gets past the permission
    organisation_id, _ = partners.add("field_service", "Straathoekwerk Mutaties")
    device = partners.device(client, organisation_id)
    area = app.extensions["safesignal"].intake.areas.areas()[0].code
    observed = (clock.now - dt.timedelta(minutes=30)).isoformat()
    report = {"category": "dv_mask19", "observed_at": observed, "client_id": "mutant-0001", "age_band": "25-44",
              "sex": "female", "referral": True, "referral_kind": "caw", "note": "vroeg naar hulp"}
    field = {"client_id": "mutant-field-1", "category": "housing_need", "observed_at": observed, "area": area, "note": "tent"}
    interval = int(clock.now.timestamp()) // 600 // 144 * 144 - 144
    keys = {"token": "not-a-token", "keys": [{"key_data": base64.b64encode(bytes(16)).decode(),
                                              "rolling_start_interval_number": interval, "rolling_period": 144}]}
    return [
        ("/v1/pharmacy/reports", report, bearer(pharmacy)),
        ("/v1/pharmacy/reports/batch", {"reports": [report, {**report, "client_id": "mutant-0002"}]}, bearer(pharmacy)),
        ("/v1/field/reports/batch", {"reports": [field, {**field, "client_id": "mutant-field-2"}]}, bearer(device)),
        ("/v1/devices/enroll", {"code": partners.enroll_code(organisation_id)}, {}),
        ("/v1/tracing/codes", {"test_date": clock.now.date().isoformat()}, bearer(pharmacy)),
        ("/v1/tracing/verify", {"code": "3141 5926 5358"}, {"SafeSignal-Fake": "0"}),
        ("/v1/tracing/keys", keys, {"SafeSignal-Fake": "0"}),
    ]


def test_mutated_bodies_get_a_4xx_in_the_error_shape_on_every_endpoint(app, client, partners, clock):
    rng = random.Random(SEED)
    sent = 0
    for path, body, headers in _endpoints(app, client, partners, clock):
        for data in mutants(body, rng):
            response = client.post(path, data=data, content_type="application/json", headers=headers)
            assert_error_shape(response, path)
            sent += 1
    assert sent > 300


def _note_with_invalid_utf8(report: dict) -> bytes:
    return _with_bytes(report, ("note",), b"\xff")


def test_invalid_utf8_in_a_single_report_is_400(app, client, partners, clock):
    token = partners.pharmacy()
    report = {"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=30)).isoformat(), "note": "x"}
    response = client.post("/v1/pharmacy/reports", data=_note_with_invalid_utf8(report),
                           content_type="application/json", headers=bearer(token))
    assert response.status_code == 400 and response.get_json()["code"] == 400


def _stored(app) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Report))


def test_invalid_utf8_in_a_batch_rejects_only_that_report(app, client, partners, clock):
    pharmacy = partners.pharmacy()
    device = partners.device(client)
    area = app.extensions["safesignal"].intake.areas.areas()[0].code
    observed = (clock.now - dt.timedelta(minutes=30)).isoformat()
    cases = [
        ("/v1/pharmacy/reports/batch", pharmacy, {"category": "dv_mask19", "observed_at": observed, "note": "x"}),
        ("/v1/field/reports/batch", device,
         {"client_id": "queue-0001", "category": "housing_need", "observed_at": observed, "area": area, "note": "x"}),
    ]
    for path, token, report in cases:
        good = json.dumps({**report, "client_id": "queue-good-1"}).encode()
        bad = _note_with_invalid_utf8(report)
        data = b'{"reports": [' + good + b", " + bad + b"]}"
        before = _stored(app)
        response = client.post(path, data=data, content_type="application/json", headers=bearer(token))
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_json()
        assert (body["accepted"], body["rejected"]) == (1, 1)
        assert body["results"][1]["errors"] == {"note": ["Not valid UTF-8 text."]}
        assert _stored(app) == before + 1
