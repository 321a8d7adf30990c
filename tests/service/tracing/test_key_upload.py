"""Key upload: validated as the reference server does, stored encrypted, today's key held back."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import pytest
from sqlalchemy import select, text
from tracing_support import FlaskTransport, granted_pharmacy

from crypto.exposure import interval_number
from service.tracing.models import KeyUpload, UsedToken
from tracing_client import api
from tracing_client.phone import day_start

TODAY = dt.date(2026, 11, 29)


def _key(day: dt.date | None = None, **fields: object) -> dict[str, object]:
    key: dict[str, object] = {
        "key_data": base64.b64encode(secrets.token_bytes(16)).decode(),
        "rolling_start_interval_number": day_start(day or TODAY - dt.timedelta(days=1)),
        "rolling_period": 144,
        "transmission_risk_level": 4,
    }
    key.update(fields)
    return key


def _token(client, partners, **onset):  # type: ignore[no-untyped-def]
    transport = FlaskTransport(client)
    _, pharmacy = granted_pharmacy(partners)
    return api.exchange(transport, api.issue_code(transport, pharmacy, **(onset or {"test_date": "2026-11-28"})))


def _upload(client, token, keys):  # type: ignore[no-untyped-def]
    return client.post("/v1/tracing/keys", json={"token": token, "keys": keys}, headers={"SafeSignal-Fake": "0"})


def _history(days: int = 15) -> list[dict[str, object]]:
    return [_key(TODAY - dt.timedelta(days=back)) for back in range(days)]


def test_fifteen_days_of_keys_are_stored_encrypted_and_today_s_is_held_back(client, partners, db_engine):
    token = _token(client, partners)
    keys = _history()
    response = _upload(client, token, keys)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["inserted"], body["held_back"], body["dropped"]) == (15, 1, 0)
    assert len(response.get_data()) == 1024
    with db_engine.connect() as connection:
        rows = connection.execute(select(KeyUpload.publish_at, KeyUpload.keys, KeyUpload.epoch)).all()
        dump = repr(connection.execute(text("SELECT * FROM key_upload")).all())
    # The past keys from the next whole hour; today's two hours after it expires at midnight.
    assert sorted((row.publish_at, row.keys) for row in rows) == [
        (dt.datetime(2026, 11, 29, 11, tzinfo=dt.timezone.utc), 14),
        (dt.datetime(2026, 11, 30, 2, tzinfo=dt.timezone.utc), 1),
    ]
    assert {row.epoch for row in rows} == {TODAY}
    for key in keys:
        raw = base64.b64decode(str(key["key_data"]))
        assert raw.hex() not in dump and str(key["key_data"]) not in dump
        assert repr(raw)[2:-1] not in dump


def test_a_key_that_ends_before_the_upload_is_not_held_back(client, partners, db_engine):
    token = _token(client, partners)
    # Today's key, rotated early (rolling period 60: it ended at 10:00, before the upload at 10:17).
    key = _key(TODAY, rolling_period=60)
    assert _upload(client, token, [key]).get_json()["held_back"] == 0


@pytest.mark.parametrize(
    ("keys", "field", "message"),
    [
        ([], "keys", "length >= 1"),
        ([_key() for _ in range(31)], "keys", "length <= 30"),
        ([_key(key_data="not base64!")], "keys.0.key_data", "16 bytes"),
        ([_key(key_data=base64.b64encode(bytes(15)).decode())], "keys.0.key_data", "16 bytes"),
        ([_key(key_data=base64.b64encode(bytes(17)).decode())], "keys.0.key_data", "16 bytes"),
        ([_key(), _key(key_data=base64.b64encode(bytes(16)).decode()), _key(key_data=base64.b64encode(bytes(16)).decode())],
         "keys.2.key_data", "twice"),
        ([_key(TODAY - dt.timedelta(days=16))], "keys.0.rolling_start_interval_number", "15 days back"),
        ([_key(rolling_start_interval_number=day_start(TODAY - dt.timedelta(days=1)) + 1)], "keys.0.rolling_period", "midnight"),
        ([_key(), _key(rolling_start_interval_number=day_start(TODAY - dt.timedelta(days=1)) + 1, rolling_period=143)],
         "keys.1.rolling_start_interval_number", "Overlaps"),
        ([_key(rolling_start_interval_number=interval_number(dt.datetime(2026, 11, 29, 10, 30, tzinfo=dt.timezone.utc)))],
         "keys.0.rolling_start_interval_number", "future"),
        ([_key(rolling_period=0)], "keys.0.rolling_period", "1 and 144"),
        ([_key(rolling_period=145)], "keys.0.rolling_period", "1 and 144"),
        ([_key(transmission_risk_level=9)], "keys.0.transmission_risk_level", "0 and 8"),
        ([_key(transmission_risk_level=-1)], "keys.0.transmission_risk_level", "0 and 8"),
        ([_key(rolling_start_interval_number="2942640")], "keys.0.rolling_start_interval_number", "Expected `int`"),
        ([_key(extra="field")], "keys.0.extra", "Unknown field"),
        ([_key(report_type=6)], "keys.0.report_type", "<= 5"),
        ([_key(report_type="POSITIVE")], "keys.0.report_type", "Invalid enum value"),
    ],
)
def test_each_rule_gets_a_field_error_and_leaves_the_token_unspent(client, partners, db_engine, keys, field, message):
    token = _token(client, partners)
    response = _upload(client, token, keys)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]["json"]
    assert field in errors and message in " ".join(errors[field]), errors
    text_body = response.get_data(as_text=True)
    for key in keys:
        assert str(key["key_data"]) not in text_body
    with db_engine.connect() as connection:
        assert connection.execute(select(KeyUpload)).all() == []
        assert connection.execute(select(UsedToken)).all() == []
    assert _upload(client, token, [_key()]).status_code == 200


def test_the_limits_are_inclusive(client, partners):
    token = _token(client, partners)
    oldest = _key(TODAY - dt.timedelta(days=15))
    # The next interval (within the clock skew), valid until midnight.
    newest = _key(rolling_start_interval_number=interval_number(dt.datetime(2026, 11, 29, 10, 20, tzinfo=dt.timezone.utc)),
                  rolling_period=82)
    # Half-day keys of the 14 days before, but yesterday's three keys share a start (a reissued key).
    halves = [
        _key(rolling_start_interval_number=day_start(TODAY - dt.timedelta(days=back)) + half * 72, rolling_period=72)
        for back in range(3, 15) for half in (0, 1)
    ]
    reissued = [_key(TODAY - dt.timedelta(days=1), rolling_period=period) for period in (50, 100, 144)]
    keys = [oldest, newest, *halves, *reissued, _key(TODAY - dt.timedelta(days=2))]
    assert len(keys) == 30
    assert _upload(client, token, keys).status_code == 200


def test_keys_valid_at_the_same_time_with_different_starts_are_refused(client, partners):
    """One code must not publish the keys of 30 phones broadcasting at once: keys with different
    starts may not overlap (the reference's rule), so at most 3 keys are valid at any moment."""
    token = _token(client, partners)
    first = day_start(TODAY - dt.timedelta(days=2))
    staggered = [_key(rolling_start_interval_number=first + i) for i in range(30)]
    assert _upload(client, token, staggered).status_code == 422
    # The same within one day (each key valid until midnight, so none crosses it).
    within_day = [_key(rolling_start_interval_number=first + i, rolling_period=144 - i) for i in range(30)]
    response = _upload(client, token, within_day)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {f"keys.{i}.rolling_start_interval_number" for i in range(1, 30)}
    assert errors["keys.1.rolling_start_interval_number"] == ["Overlaps a key with another start."]
    # A key that starts when the previous one ends is fine.
    assert _upload(client, token, [_key(rolling_start_interval_number=first, rolling_period=60),
                                   _key(rolling_start_interval_number=first + 60, rolling_period=84)]).status_code == 200


def test_a_key_of_the_utc_day_15_days_back_is_accepted_as_the_reference_does(client, partners, db_engine, app):
    token = _token(client, partners)
    body = _upload(client, token, [_key(TODAY - dt.timedelta(days=15)), _key(TODAY - dt.timedelta(days=14))]).get_json()
    assert (body["inserted"], body["dropped"]) == (2, 0), body


def test_keys_are_published_as_whole_days(client, partners, db_engine, app):
    """A key rotated early or started mid-day is stored as its whole UTC day (what padding imitates);
    its validity decides only when it is published."""
    from crypto.envelope import associated_data
    from service.tracing.uploads import unpack

    token = _token(client, partners)
    yesterday = day_start(TODAY - dt.timedelta(days=1))
    keys = [_key(rolling_start_interval_number=yesterday, rolling_period=60),
            _key(rolling_start_interval_number=yesterday + 60, rolling_period=84),
            _key(rolling_start_interval_number=day_start(TODAY) + 12, rolling_period=30)]  # today, ended 07:00
    assert _upload(client, token, keys).get_json()["held_back"] == 0
    tracing = app.extensions["safesignal"].tracing
    with db_engine.connect() as connection:
        (row,) = connection.execute(select(KeyUpload.id, KeyUpload.payload)).all()
    stored = unpack(tracing.keyring.decrypt(tracing.keystore, row.payload, associated_data("key_upload", row.id.bytes)))
    assert sorted((key.rolling_start_interval_number, key.rolling_period) for key in stored) == [
        (yesterday, 144), (yesterday, 144), (day_start(TODAY), 144)]


def test_more_than_three_keys_with_one_start_are_refused(client, partners):
    token = _token(client, partners)
    keys = [_key(rolling_period=36) for _ in range(4)]
    errors = _upload(client, token, keys).get_json()["errors"]["json"]
    assert errors == {"keys.3.rolling_start_interval_number": ["More than 3 keys with the same start."]}


def test_the_server_sets_the_transmission_risk_from_days_since_onset(client, partners, db_engine, app):
    from crypto.envelope import associated_data
    from service.tracing.uploads import transmission_risk, unpack

    token = _token(client, partners, symptom_onset=(TODAY - dt.timedelta(days=4)).isoformat())
    keys = [_key(TODAY - dt.timedelta(days=back), transmission_risk_level=8) for back in range(1, 15)]
    assert _upload(client, token, keys).status_code == 200
    tracing = app.extensions["safesignal"].tracing
    with db_engine.connect() as connection:
        (row,) = connection.execute(select(KeyUpload.id, KeyUpload.payload)).all()
    stored = unpack(tracing.keyring.decrypt(tracing.keystore, row.payload, associated_data("key_upload", row.id.bytes)))
    assert {(key.days_since_onset_of_symptoms, key.transmission_risk_level) for key in stored} == {
        (since, transmission_risk(since)) for since in range(-10, 4)
    }
    assert {key.transmission_risk_level for key in stored} == {1, 2, 4, 6}


def test_days_since_onset_come_from_the_token_and_keys_too_far_from_onset_are_dropped(client, partners, db_engine, app):
    from crypto.envelope import associated_data
    from service.tracing.uploads import unpack

    token = _token(client, partners, symptom_onset=(TODAY - dt.timedelta(days=1)).isoformat())
    keys = [_key(TODAY - dt.timedelta(days=back), days_since_onset_of_symptoms=7) for back in range(1, 15)]
    body = _upload(client, token, keys).get_json()
    assert (body["inserted"], body["dropped"]) == (14, 0)
    tracing = app.extensions["safesignal"].tracing
    with db_engine.connect() as connection:
        (row,) = connection.execute(select(KeyUpload.id, KeyUpload.payload)).all()
    stored = unpack(tracing.keyring.decrypt(tracing.keystore, row.payload, associated_data("key_upload", row.id.bytes)))
    assert sorted(key.days_since_onset_of_symptoms for key in stored) == list(range(-13, 1))
    assert {key.report_type for key in stored} == {1}


@pytest.mark.parametrize("report_type", [1, 3, 5, "CONFIRMED_TEST", "SELF_REPORT", "REVOKED"])
def test_a_report_type_sent_by_the_app_is_accepted_and_overridden(client, partners, db_engine, app, report_type):
    from crypto.envelope import associated_data
    from service.tracing.uploads import unpack

    token = _token(client, partners)
    keys = [_key(TODAY - dt.timedelta(days=back), report_type=report_type, days_since_onset_of_symptoms=3) for back in (1, 2)]
    response = _upload(client, token, keys)
    assert response.status_code == 200, response.get_json()
    tracing = app.extensions["safesignal"].tracing
    with db_engine.connect() as connection:
        (row,) = connection.execute(select(KeyUpload.id, KeyUpload.payload)).all()
    stored = unpack(tracing.keyring.decrypt(tracing.keystore, row.payload, associated_data("key_upload", row.id.bytes)))
    assert {key.report_type for key in stored} == {1}  # CONFIRMED_TEST: the token comes from a positive test


def test_a_key_further_than_14_days_from_onset_is_dropped(client, partners):
    token = _token(client, partners, test_date=(TODAY + dt.timedelta(days=1)).isoformat())
    keys = [_key(TODAY - dt.timedelta(days=back)) for back in (1, 13, 14)]
    body = _upload(client, token, keys).get_json()
    assert (body["inserted"], body["dropped"]) == (2, 1)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'{"token": 1, "keys": []}',
        b'{"token": "\xff", "keys": []}',  # not UTF-8
        b'{"token": "x", "keys": [{"key_data": "\xc3"}]}',  # a truncated UTF-8 sequence
        b"[" * 5000 + b"]" * 5000,
        b'{"token": "x", "keys": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    ],
)
@pytest.mark.parametrize("path", ["/v1/tracing/keys", "/v1/tracing/verify"])
def test_malformed_bodies_get_the_error_shape_never_a_500(client, body, path):
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(response.get_json()) >= {"code", "status", "message"}
    assert len(response.get_data()) == 1024
