"""Verification codes: who may issue them, their shape, expiry, single use, quota and the guessing limit."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import bearer
from sqlalchemy import func, select, text
from stdnum import damm
from tracing_support import granted_pharmacy

from service.tracing.codes import format_code, new_code, well_formed
from service.tracing.models import CodeQuota, RedeemFailures, VerificationCode


def _issue(client, token, **body):  # type: ignore[no-untyped-def]
    return client.post("/v1/tracing/codes", json=body or {"test_date": "2026-11-28"}, headers=bearer(token))


def _redeem(client, code):  # type: ignore[no-untyped-def]
    return client.post("/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"})


def test_a_code_is_twelve_digits_whose_last_is_a_damm_check_digit():
    for _ in range(200):
        code = new_code()
        assert len(code) == 12 and code.isdigit() and damm.is_valid(code)
    assert format_code("314159265358") == "3141 5926 5358"


def test_the_check_digit_catches_every_single_typo_and_every_swap_of_neighbours():
    code = new_code()
    for position, digit in itertools.product(range(12), "0123456789"):
        if digit != code[position]:
            assert not well_formed(code[:position] + digit + code[position + 1:])
    for position in range(11):
        swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
        if swapped != code:
            assert not well_formed(swapped)


def test_a_granted_pharmacy_issues_a_code_that_works_once(client, partners, db_engine):
    _, token = granted_pharmacy(partners)
    response = _issue(client, token, symptom_onset="2026-11-26")
    assert response.status_code == 201
    body = response.get_json()
    assert body["onset_kind"] == "symptoms" and body["onset_date"] == "2026-11-26"
    assert body["expires_at"] == "2026-11-29T11:17:30.123456Z"
    assert response.headers["Cache-Control"] == "no-store"
    code = body["code"]
    assert well_formed(code.replace(" ", ""))
    first = _redeem(client, code.replace(" ", "-"))
    assert first.status_code == 200, first.get_json()
    second = _redeem(client, code)
    assert second.status_code == 403
    assert code not in str(second.get_json()) and code.replace(" ", "") not in str(second.get_json())


def test_only_the_keyed_hash_of_a_code_is_stored(client, partners, db_engine):
    _, token = granted_pharmacy(partners)
    code = _issue(client, token).get_json()["code"].replace(" ", "")
    with db_engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM verification_code")).all()
    assert len(rows) == 1
    dump = repr(rows)
    assert code not in dump and code.encode().hex() not in dump
    stored = rows[0]._mapping["code_hash"]
    assert len(stored) == 32 and code.encode() not in bytes(stored)


def test_a_pharmacy_without_the_grant_is_refused_and_a_withdrawal_stops_it(client, partners):
    organisation_id, token = partners.add("pharmacy", "Apotheek Zonder Test", partners.area())
    refused = _issue(client, token)
    assert refused.status_code == 403
    assert "tracing grant" in refused.get_json()["message"]
    partners.run("tracing", "grant", organisation_id)
    assert _issue(client, token).status_code == 201
    partners.run("tracing", "withdraw", organisation_id)
    assert _issue(client, token).status_code == 403


def test_partners_list_says_who_issues_codes_and_a_revoked_pharmacy_does_not(client, partners):
    organisation_id, token = granted_pharmacy(partners)
    line = next(line for line in partners.run("partners", "list").splitlines() if line.startswith(organisation_id))
    assert line.endswith("(issues tracing codes)")
    partners.run("partners", "revoke", organisation_id)
    line = next(line for line in partners.run("partners", "list").splitlines() if line.startswith(organisation_id))
    assert " revoked " in line and "tracing" not in line  # its credentials are gone: it issues nothing


def test_only_pharmacies_can_be_granted(partners):
    organisation_id, _ = partners.add("prevention_service", "Preventiedienst")
    result = partners.runner.invoke(args=["tracing", "grant", organisation_id])
    assert result.exit_code != 0
    assert "only pharmacies" in result.output


def test_grants_and_withdrawals_are_audited(client, partners, db_engine):
    organisation_id, _ = granted_pharmacy(partners)
    partners.run("tracing", "grant", organisation_id)  # already granted: nothing changes, nothing logged
    partners.run("tracing", "withdraw", organisation_id)
    with db_engine.connect() as connection:
        kinds = [row.kind for row in connection.execute(text("SELECT kind, detail FROM audit_entry ORDER BY seq"))]
    assert kinds[-2:] == ["tracing.granted", "tracing.withdrawn"]
    assert kinds.count("tracing.granted") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "_schema"),
        ({"test_date": "2026-11-28", "symptom_onset": "2026-11-27"}, "_schema"),
        ({"test_date": "2026-12-01"}, "test_date"),
        ({"symptom_onset": "2026-11-14"}, "symptom_onset"),
        ({"test_date": "28/11/2026"}, "test_date"),
        ({"test_date": "2026-11-28", "name": "Jan Janssens"}, "name"),
    ],
)
def test_a_wrong_date_gets_a_field_error(client, partners, body, field):
    _, token = granted_pharmacy(partners)
    response = client.post("/v1/tracing/codes", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["json"]
    assert "Janssens" not in response.get_data(as_text=True)


def test_tomorrow_is_accepted_for_a_pharmacy_ahead_of_utc_and_fifteen_days_back_is_not(client, partners):
    _, token = granted_pharmacy(partners)
    assert _issue(client, token, test_date="2026-11-30").status_code == 201
    assert _issue(client, token, test_date="2026-11-15").status_code == 201
    assert _issue(client, token, test_date="2026-11-14").status_code == 422


def test_a_code_expires_after_its_hour_to_the_microsecond(client, partners, clock):
    _, token = granted_pharmacy(partners)
    late, in_time = (_issue(client, token).get_json()["code"] for _ in range(2))
    clock.advance(hours=1, microseconds=-1)
    assert _redeem(client, in_time).status_code == 200
    clock.advance(microseconds=1)
    assert _redeem(client, late).status_code == 403


def test_the_quota_per_pharmacy_holds_for_the_utc_day(app_with, partners, clock, db_engine):
    app = app_with(TRACING_CODES_PER_DAY=3)
    client = app.test_client()
    _, token = granted_pharmacy(partners)
    for _ in range(3):
        assert _issue(client, token).status_code == 201
        clock.advance(hours=1)
    refused = _issue(client, token)  # at 13:17:30.123456
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 10 * 3600 + 42 * 60 + 30  # until midnight
    assert _issue(client, token).status_code == 429  # a refusal does not count
    with db_engine.connect() as connection:
        assert connection.scalar(select(CodeQuota.issued)) == 3
        assert connection.scalar(select(func.count()).select_from(VerificationCode)) == 3
    _, other = granted_pharmacy(partners, "Apotheek Twee")
    assert _issue(client, other).status_code == 201  # a quota per pharmacy
    clock.now = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.timezone.utc) - dt.timedelta(microseconds=1)
    assert _issue(client, token).status_code == 429
    clock.advance(microseconds=1)
    assert _issue(client, token).status_code == 201


def test_a_typo_is_a_422_that_does_not_count_as_a_guess(client, partners, db_engine):
    _, token = granted_pharmacy(partners)
    code = _issue(client, token).get_json()["code"].replace(" ", "")
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    response = _redeem(client, typo)
    assert response.status_code == 422
    assert response.get_json()["errors"]["json"]["code"]
    assert typo not in response.get_data(as_text=True)
    with db_engine.connect() as connection:
        assert connection.execute(select(RedeemFailures)).all() == []


def test_guessing_stops_at_the_hourly_limit_for_everyone_until_the_next_hour(app_with, partners, clock, db_engine):
    app = app_with(TRACING_REDEEM_FAILURES_PER_HOUR=5)
    client = app.test_client()
    _, token = granted_pharmacy(partners)
    real = _issue(client, token).get_json()["code"]
    guesses = [new_code() for _ in range(5)]
    for guess in guesses:
        assert _redeem(client, guess).status_code == 403
    blocked = _redeem(client, real)  # past the limit even a right code waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 42 * 60 + 30  # 10:17:30.123456 -> 11:00
    fake = client.post("/v1/tracing/verify", json={"code": new_code()}, headers={"SafeSignal-Fake": "1"})
    assert fake.status_code == 429 and len(fake.get_data()) == len(blocked.get_data())  # answered alike
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(VerificationCode)) == 1  # not spent
        assert connection.scalar(select(RedeemFailures.failures)) == 5
    clock.now = clock.now.replace(hour=11, minute=0, second=0, microsecond=0)
    assert _redeem(client, real).status_code == 200
    with db_engine.connect() as connection:  # a success takes back its count
        assert connection.scalar(select(RedeemFailures.failures).where(RedeemFailures.hour == clock.now)) == 0


def test_apps_racing_with_one_code_get_one_token(client, partners, app):
    _, token = granted_pharmacy(partners)
    code = _issue(client, token).get_json()["code"]
    barrier = threading.Barrier(4)

    def redeem() -> int:
        barrier.wait()
        return _redeem(app.test_client(), code).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: redeem(), range(4)))
    assert statuses == [200, 403, 403, 403]


def test_concurrent_guesses_cannot_pass_the_limit_together(app_with, partners, db_engine):
    app = app_with(TRACING_REDEEM_FAILURES_PER_HOUR=3)
    barrier = threading.Barrier(8)

    def guess() -> int:
        barrier.wait()
        return _redeem(app.test_client(), new_code()).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: guess(), range(8)))
    assert statuses == [403, 403, 403, 429, 429, 429, 429, 429]
    with db_engine.connect() as connection:
        assert connection.scalar(select(RedeemFailures.failures)) == 3


def test_a_redeemed_code_leaves_no_row_and_a_revoked_pharmacy_s_codes_stop(client, partners, db_engine):
    organisation_id, token = granted_pharmacy(partners)
    used, kept = (_issue(client, token).get_json()["code"] for _ in range(2))
    assert _redeem(client, used).status_code == 200
    with db_engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(VerificationCode)) == 1
    partners.run("partners", "revoke", organisation_id)
    assert _redeem(client, kept).status_code == 403
