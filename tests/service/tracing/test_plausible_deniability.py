"""Fake requests look like real ones on the wire: same status, same size, same timing; and nothing
on this path keeps an IP address, a user agent, a code or a token."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import time

from scipy.stats import ks_2samp
from sqlalchemy import func, select
from tracing_support import FlaskTransport, granted_pharmacy

from service.tracing.codes import new_code
from service.tracing.models import KeyUpload, UsedToken, VerificationCode
from tracing_client import api
from tracing_client.phone import Phone, day_start

ROUNDS = 3
SAMPLES = 60
WARM_UP = 20
USER_AGENT = "ExposureApp/2.1 (Pixel 7; Android 14)"
CLIENT_IP = "198.51.100.23"


def _post(client, path, body, fake):  # type: ignore[no-untyped-def]
    headers = {"SafeSignal-Fake": "1" if fake else "0", "Content-Type": "application/json", "User-Agent": USER_AGENT}
    started = time.perf_counter()
    response = client.post(path, data=body, headers=headers, environ_base={"REMOTE_ADDR": CLIENT_IP})
    return time.perf_counter() - started, response


def _keys() -> list[dict[str, object]]:
    today = dt.date(2026, 11, 29)
    return [
        {"key_data": base64.b64encode(secrets.token_bytes(16)).decode(),
         "rolling_start_interval_number": day_start(today - dt.timedelta(days=back)), "rolling_period": 144,
         "transmission_risk_level": 4}
        for back in range(1, 15)
    ]


def _indistinguishable(real, fake) -> tuple[float, list[int], list[int]]:  # type: ignore[no-untyped-def]
    result = ks_2samp([duration for duration, _ in real], [duration for duration, _ in fake])
    sizes = sorted({len(response.get_data()) for _, response in real + fake})
    statuses = sorted({response.status_code for _, response in real + fake})
    return float(result.pvalue), sizes, statuses


def test_fake_exchanges_and_uploads_match_real_ones_in_status_size_and_timing(app_with, partners, db_engine):
    """One round sends real and fake requests alternately and compares their latencies with a
    two-sample Kolmogorov-Smirnov test. When the two distributions are the same its p-value is
    uniform, so a single round at 0.05 fails one run in twenty with nothing wrong: a round may be
    repeated, up to three independent rounds (a false alarm then comes once in 8,000 runs). A
    real difference (fakes answered at once, or after a fixed mean) gives p < 1e-6 in every round."""
    app = app_with(TRACING_CODES_PER_DAY=1000, TRACING_REDEEM_FAILURES_PER_HOUR=1000, TRACING_RESPONSE_FLOOR_MS=20)
    client = app.test_client()
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    outcomes = []
    for _ in range(ROUNDS):
        codes = [api.issue_code(transport, pharmacy, test_date="2026-11-28") for _ in range(WARM_UP + SAMPLES)]
        tokens = []
        real_exchanges, fake_exchanges = [], []
        for index, code in enumerate(codes):
            duration, response = _post(client, "/v1/tracing/verify", api.padded_body({"code": code}, api.EXCHANGE_BYTES), False)
            assert response.status_code == 200
            tokens.append(response.get_json()["token"])
            if index < WARM_UP:
                continue
            real_exchanges.append((duration, response))
            fake_code = new_code()  # what an app sends: random, with a right check digit
            fake_exchanges.append(_post(client, "/v1/tracing/verify", api.padded_body({"code": fake_code}, api.EXCHANGE_BYTES), True))
        real_uploads, fake_uploads = [], []
        with db_engine.connect() as connection:
            before = [connection.scalar(select(func.count()).select_from(table)) for table in (KeyUpload, UsedToken)]
        for index, token in enumerate(tokens):
            duration, response = _post(client, "/v1/tracing/keys", api.padded_body({"token": token, "keys": _keys()}, api.UPLOAD_BYTES), False)
            assert response.status_code == 200, response.get_json()
            if index < WARM_UP:
                continue
            real_uploads.append((duration, response))
            decoy = fake_exchanges[index - WARM_UP][1].get_json()["token"]
            fake_uploads.append(_post(client, "/v1/tracing/keys", api.padded_body({"token": decoy, "keys": _keys()}, api.UPLOAD_BYTES), True))
        with db_engine.connect() as connection:
            after = [connection.scalar(select(func.count()).select_from(table)) for table in (KeyUpload, UsedToken)]
        # Only the real uploads were stored.
        assert after[1] - before[1] == len(tokens)
        exchange_p, exchange_sizes, exchange_statuses = _indistinguishable(real_exchanges, fake_exchanges)
        upload_p, upload_sizes, upload_statuses = _indistinguishable(real_uploads, fake_uploads)
        assert exchange_sizes == [1024] and upload_sizes == [1024]
        assert exchange_statuses == [200] and upload_statuses == [200]
        for _, response in real_exchanges + fake_exchanges + real_uploads + fake_uploads:
            assert sorted(response.headers.keys()) == ["Cache-Control", "Content-Length", "Content-Type", "X-Content-Type-Options"]
        outcomes.append((exchange_p, upload_p))
        if exchange_p > 0.05 and upload_p > 0.05:
            break
    assert outcomes[-1][0] > 0.05 and outcomes[-1][1] > 0.05, outcomes


def test_real_failures_are_padded_like_successes(client, partners):
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    token = api.exchange(transport, api.issue_code(transport, pharmacy, test_date="2026-11-28"))
    body = api.padded_body({"token": token, "keys": _keys()}, api.UPLOAD_BYTES)
    answers = [
        _post(client, "/v1/tracing/verify", api.padded_body({"code": new_code()}, api.EXCHANGE_BYTES), False)[1],  # 403
        _post(client, "/v1/tracing/keys", body, False)[1],  # 200
        _post(client, "/v1/tracing/keys", body, False)[1],  # 409: a replay
        _post(client, "/v1/tracing/keys", api.padded_body({"token": "x", "keys": _keys()}, api.UPLOAD_BYTES), False)[1],  # 403
        _post(client, "/v1/tracing/keys", b"{", False)[1],  # 400
    ]
    assert [answer.status_code for answer in answers] == [403, 200, 409, 403, 400]
    assert {len(answer.get_data()) for answer in answers} == {1024}
    assert {answer.headers["Cache-Control"] for answer in answers} == {"no-store"}
    assert all(set(answer.get_json()) >= {"padding"} for answer in answers)


def test_a_fake_exchange_with_a_typo_gets_the_same_422_as_a_real_one(client):
    answers = [
        _post(client, "/v1/tracing/verify", api.padded_body({"code": "1234 5678 9012"[:-1] + "x"}, api.EXCHANGE_BYTES), fake)[1]
        for fake in (False, True)
    ]
    assert [answer.status_code for answer in answers] == [422, 422]
    assert [len(answer.get_data()) for answer in answers] == [1024, 1024]
    assert answers[0].get_json()["errors"] == answers[1].get_json()["errors"]


def test_a_fake_exchange_gets_a_token_that_uploads_nothing(client, partners, db_engine):
    transport = FlaskTransport(client)
    decoy = api.exchange(transport, "", fake=True)
    assert decoy.count(".") == 2
    refused = client.post("/v1/tracing/keys", json={"token": decoy, "keys": _keys()}, headers={"SafeSignal-Fake": "0"})
    assert refused.status_code == 403
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(VerificationCode)) == 0
        assert connection.scalar(select(func.count()).select_from(KeyUpload)) == 0


def test_nothing_on_the_tracing_path_logs_an_address_an_agent_a_code_a_token_or_a_key(client, partners, caplog, app, clock):
    caplog.set_level(logging.DEBUG)
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    code = api.issue_code(transport, pharmacy, test_date="2026-11-28")
    secrets_seen = [code, code.replace(" ", ""), pharmacy]
    for fake in (False, True):
        duration, response = _post(client, "/v1/tracing/verify", api.padded_body({"code": code}, api.EXCHANGE_BYTES), fake)
        token = response.get_json()["token"]
        keys = Phone("p").keys_to_share(clock.now)
        secrets_seen += [token, *(str(key["key_data"]) for key in keys)]
        _post(client, "/v1/tracing/keys", api.padded_body({"token": token, "keys": keys}, api.UPLOAD_BYTES), fake)
        _post(client, "/v1/tracing/keys", api.padded_body({"token": token, "keys": keys}, api.UPLOAD_BYTES), fake)  # a replay
    wrong = new_code()
    secrets_seen.append(wrong)
    _post(client, "/v1/tracing/verify", api.padded_body({"code": wrong}, api.EXCHANGE_BYTES), False)
    clock.now = dt.datetime(2026, 11, 29, 12, 10, tzinfo=dt.timezone.utc)
    partners.run("tracing", "export")
    logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    for forbidden in (CLIENT_IP, USER_AGENT, *secrets_seen):
        assert forbidden not in logged
