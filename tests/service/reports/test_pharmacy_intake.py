"""Pharmacy reports over HTTP: one or a batch, strict validation, screening, the one error shape."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support import bearer
from sqlalchemy import select

from service.reports.models import Report
from service.reports.services import read_payload


def _report(clock, **fields):  # type: ignore[no-untyped-def]
    body = {"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=40)).isoformat()}
    body.update(fields)
    return body


def _stored(app) -> list[Report]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return list(session.scalars(select(Report)))


def assert_error_shape(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and isinstance(body["status"], str) and isinstance(body["message"], str)
    assert set(body) <= {"code", "status", "message", "errors"}
    return body


def test_single_report_is_stored_encrypted_with_only_coarse_clear_columns(app, client, partners, clock):
    token = partners.pharmacy()
    response = client.post(
        "/v1/pharmacy/reports",
        json=_report(clock, count=2, age_band="25-44", sex="female", referral=True, referral_kind="caw", note="vroeg naar CAW"),
        headers=bearer(token),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"index": 0, "status": "accepted"}

    (report,) = _stored(app)
    assert report.channel == "pharmacy" and report.data_class == "pharmacy_reports"
    assert report.category == "dv_mask19" and report.area == partners.area()
    assert report.observed_hour == dt.datetime(2026, 11, 29, 9, tzinfo=dt.timezone.utc)
    assert report.received_hour == dt.datetime(2026, 11, 29, 10, tzinfo=dt.timezone.utc)
    assert b"CAW" not in report.payload and b"caw" not in report.payload
    payload = read_payload(app.extensions["safesignal"].intake, report)
    assert (payload.count, payload.age_band, payload.sex, payload.referral_kind, payload.note) == (
        2, "25-44", "female", "caw", "vroeg naar CAW"
    )


def test_batch_stores_valid_reports_and_refuses_invalid_ones_with_reasons(app, client, partners, clock):
    token = partners.pharmacy()
    reports = [_report(clock), _report(clock, category="no_such_category"), _report(clock, count=0), _report(clock, sex="f")]
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["rejected"], body["conflicts"]) == (1, 3, 0)
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected", "rejected"]
    assert list(body["results"][1]["errors"]) == ["category"]
    assert list(body["results"][2]["errors"]) == ["count"]
    assert list(body["results"][3]["errors"]) == ["sex"]
    assert len(_stored(app)) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", 2.5),
        ("count", "1"),
        ("count", True),
        ("referral", "yes"),
        ("referral", 1),
        ("category", 12),
        ("observed_at", "2026-11-29T09:00:00"),  # no offset
        ("observed_at", "yesterday"),
        ("note", "x" * 501),
        ("category", "c" * 65),
        ("age_band", "adult"),
    ],
)
def test_types_and_lengths_are_strict(app, client, partners, clock, field, value):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", json=_report(clock, **{field: value}), headers=bearer(token))
    body = assert_error_shape(response, 422)
    assert list(body["errors"]["json"]) == [field]
    assert _stored(app) == []


def test_unknown_fields_are_named(client, partners, clock):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", json=_report(clock, area="elsewhere"), headers=bearer(token))
    body = assert_error_shape(response, 422)
    assert body["errors"]["json"] == {"area": ["Unknown field."]}


def test_a_missing_field_is_named(client, partners, clock):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", json={"category": "dv_mask19"}, headers=bearer(token))
    assert assert_error_shape(response, 422)["errors"]["json"] == {"observed_at": ["Missing data for required field."]}


@pytest.mark.parametrize(
    ("delta", "accepted"),
    [
        (dt.timedelta(minutes=5), True),  # within the allowed clock skew
        (dt.timedelta(minutes=5, microseconds=1), False),
        (-dt.timedelta(hours=168), True),  # exactly at the window's edge
        (-dt.timedelta(hours=168, microseconds=1), False),
    ],
)
def test_observation_time_window_boundaries(client, partners, clock, delta, accepted):
    token = partners.pharmacy()
    response = client.post(
        "/v1/pharmacy/reports", json=_report(clock, observed_at=(clock.now + delta).isoformat()), headers=bearer(token)
    )
    if accepted:
        assert response.status_code == 201
    else:
        assert list(assert_error_shape(response, 422)["errors"]["json"]) == ["observed_at"]


def test_referral_kind_needs_referral_and_a_known_kind(client, partners, clock):
    token = partners.pharmacy()
    first = client.post("/v1/pharmacy/reports", json=_report(clock, referral_kind="caw"), headers=bearer(token))
    second = client.post(
        "/v1/pharmacy/reports", json=_report(clock, referral=True, referral_kind="astrologer"), headers=bearer(token)
    )
    assert list(assert_error_shape(first, 422)["errors"]["json"]) == ["referral_kind"]
    assert list(assert_error_shape(second, 422)["errors"]["json"]) == ["referral_kind"]


def test_a_field_only_category_is_refused_from_a_pharmacy(app, client, partners, clock):
    taxonomy = app.extensions["safesignal"].intake.taxonomy
    field_only = [c.code for c in taxonomy.categories.values() if c.channels == frozenset({"field"})]
    if not field_only:
        pytest.skip("the default taxonomy has no field-only category")
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", json=_report(clock, category=field_only[0]), headers=bearer(token))
    assert list(assert_error_shape(response, 422)["errors"]["json"]) == ["category"]


def test_malformed_json_gets_400_and_stores_nothing(app, client, partners):
    token = partners.pharmacy()
    for path in ("/v1/pharmacy/reports", "/v1/pharmacy/reports/batch"):
        response = client.post(path, data='{"category": "dv_mask19", "note": "Jan Peeters 0470', content_type="application/json", headers=bearer(token))
        body = assert_error_shape(response, 400)
        assert "Peeters" not in response.get_data(as_text=True)
        assert "errors" not in body or body["errors"]
    assert _stored(app) == []


def test_not_json_gets_415(client, partners, clock):
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", data=json.dumps(_report(clock)), content_type="text/plain", headers=bearer(token))
    assert_error_shape(response, 415)


def test_a_body_over_the_limit_gets_413(app, client, partners, clock):
    token = partners.pharmacy()
    limit = app.config["MAX_BODY_BYTES"]
    reports = [_report(clock, note="n" * 500)] * (limit // 500 + 1)
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert_error_shape(response, 413)
    assert _stored(app) == []


def test_a_batch_over_the_size_limit_is_refused_whole(app, client, partners, clock):
    token = partners.pharmacy()
    reports = [_report(clock)] * (app.config["BATCH_MAX"] + 1)
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert assert_error_shape(response, 422)["errors"]["json"] == {"reports": ["At most 500 reports per batch."]}
    assert _stored(app) == []


def test_a_full_batch_of_500_is_stored(app, client, partners, clock):
    token = partners.pharmacy()
    reports = [_report(clock, count=1 + i % 7) for i in range(500)]
    response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
    assert response.get_json()["accepted"] == 500
    assert len(_stored(app)) == 500


def test_personal_data_in_a_note_is_redacted_and_never_stored_or_echoed(app, client, partners, clock):
    token = partners.pharmacy()
    note = "Klant jan.peeters@example.be belde van 0470 12 34 56, auto 1-ABC-234"
    response = client.post("/v1/pharmacy/reports", json=_report(clock, note=note), headers=bearer(token))
    assert response.status_code == 201
    assert response.get_json()["redactions"] == 3
    (report,) = _stored(app)
    stored_note = read_payload(app.extensions["safesignal"].intake, report).note
    for secret in ("jan.peeters", "0470", "12 34 56", "ABC-234"):
        assert secret not in stored_note
        assert secret not in response.get_data(as_text=True)


def test_reject_policy_names_the_kind_not_the_value(app, app_with, partners, clock):
    rejecting = app_with(FREE_TEXT_POLICY="reject")
    token = partners.pharmacy()
    response = rejecting.test_client().post(
        "/v1/pharmacy/reports", json=_report(clock, note="bel haar op 0470 12 34 56"), headers=bearer(token)
    )
    body = assert_error_shape(response, 422)
    assert "phone" in body["errors"]["json"]["note"][0]
    assert "0470" not in response.get_data(as_text=True)
    assert _stored(app) == []


def test_free_text_is_never_echoed_in_errors(client, partners, clock):
    token = partners.pharmacy()
    secret = "Mevrouw Janssens Kerkstraat 12"
    for body in (
        _report(clock, note=secret, count="x"),
        _report(clock, note=secret, age_band=secret),
        _report(clock, note=secret + "x" * 500),
        _report(clock, category=secret),
        {**_report(clock), secret: 1},
        _report(clock, sex="x' Janssens 0470123456 \""),  # both quote characters in one value
        _report(clock, age_band='"Janssens"'),
    ):
        response = client.post("/v1/pharmacy/reports", json=body, headers=bearer(token))
        assert response.status_code == 422
        assert "Janssens" not in response.get_data(as_text=True)
        assert "0470" not in response.get_data(as_text=True)


def test_a_deployment_can_shorten_notes(app_with, partners, clock):
    client = app_with(NOTE_MAX_LENGTH=20).test_client()
    token = partners.pharmacy()
    response = client.post("/v1/pharmacy/reports", json=_report(clock, note="x" * 21), headers=bearer(token))
    assert assert_error_shape(response, 422)["errors"]["json"] == {"note": ["Longer than 20 characters."]}
    assert client.post("/v1/pharmacy/reports", json=_report(clock, note="x" * 20), headers=bearer(token)).status_code == 201
