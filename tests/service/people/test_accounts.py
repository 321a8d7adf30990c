"""People's accounts through their services: password rules, the second factor, the sign-in
lock, web sessions' lifetimes, revocation, and what is stored of the TOTP secret."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pyotp
import pytest
from sqlalchemy import func, select

from crypto.errors import KekError
from service.audit.models import AuditEntry
from service.people.models import Person, SignInThrottle, WebSession
from service.people.services import (
    PeopleError, PersonStatus, check_password, check_second_factor, confirm_totp, invite, invited_person, locked,
    new_totp, open_session, password_problems, person_status, revoke, session_person, set_password,
)

STEP = dt.timedelta(seconds=30)


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at)


# Password --------------------------------------------------------------------------------------


def test_password_rules(state, clock, organisation):
    assert password_problems("short pw 1") == ["too_short"]
    assert password_problems("x" * 129 + "abcde") == ["too_long"]
    assert password_problems("abababababababab") == ["too_simple"]
    assert password_problems("aaaa") == ["too_short", "too_simple"]
    assert password_problems("a" * 8 + "bcde") == [] and password_problems("abcde" + "x" * 123) == []
    with state.sessions() as session:
        person, _ = invite(session, state.accounts, organisation_id=organisation, email="p@example.be", now=clock.now)
        with pytest.raises(PeopleError):
            set_password(person, state.accounts, "abababababababab")
        assert person.password_hash is None
        set_password(person, state.accounts, "a" * 8 + "bcde")
        assert person.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=4$")


def test_the_production_cost_is_rfc_9106s_second_recommendation(app_with, clock, organisation):
    accounts = app_with(PEOPLE_PASSWORD_MEMORY_KIB=65536, PEOPLE_PASSWORD_TIME_COST=3).extensions["safesignal"].accounts
    with app_with().extensions["safesignal"].sessions() as session:
        person, _ = invite(session, accounts, organisation_id=organisation, email="p@example.be", now=clock.now)
        set_password(person, accounts, "correct horse battery staple")
    assert person.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.verify_password(person.password_hash, "correct horse battery staple")
    assert not accounts.verify_password(person.password_hash, "correct horse battery stapler")


# Second factor ---------------------------------------------------------------------------------


def test_confirming_the_second_factor_activates_once(state, clock, organisation, password):
    with state.sessions() as session:
        person, _ = invite(session, state.accounts, organisation_id=organisation, email="p@example.be", now=clock.now)
        secret = new_totp(person, state.accounts)
        assert not confirm_totp(session, person, state.accounts, _code(secret, clock.now), clock.now)  # no password yet
        set_password(person, state.accounts, password)
        wrong = f"{(int(_code(secret, clock.now)) + 1) % 10**6:06d}"
        assert not confirm_totp(session, person, state.accounts, wrong, clock.now)
        assert not confirm_totp(session, person, state.accounts, _code(secret, clock.now - 2 * STEP), clock.now)
        assert person.active_at is None
        assert confirm_totp(session, person, state.accounts, _code(secret, clock.now), clock.now)
        assert person.active_at == clock.now and person.invitation_hash is None
        clock.advance(seconds=30)
        assert not confirm_totp(session, person, state.accounts, _code(secret, clock.now), clock.now)  # already active


def test_an_accounts_status_runs_invited_expired_active_revoked(app, state, clock, organisation, password):
    hours = dt.timedelta(hours=app.config["PEOPLE_INVITATION_HOURS"])
    tiny = dt.timedelta(microseconds=1)
    with state.sessions() as session:
        person, token = invite(session, state.accounts, organisation_id=organisation, email="p@example.be", now=clock.now)
        expires = clock.now + hours
        assert person.invitation_expires_at == expires
        # The status's bound is the invitation link's: invited while the link works, expired from then.
        assert person_status(person, expires - tiny) is PersonStatus.INVITED
        assert invited_person(session, token, expires - tiny) is person
        assert person_status(person, expires) is PersonStatus.EXPIRED
        assert invited_person(session, token, expires) is None
        set_password(person, state.accounts, password)
        secret = new_totp(person, state.accounts)
        assert confirm_totp(session, person, state.accounts, _code(secret, clock.now), clock.now)
        assert person_status(person, expires) is PersonStatus.ACTIVE  # the invitation's end no longer matters
        revoke(session, person.id, clock.now)
        assert person_status(person, clock.now) is PersonStatus.REVOKED
        # What `safesignal people list` prints.
        assert [str(status) for status in PersonStatus] == ["invited", "invitation expired", "active", "revoked"]


def test_a_code_is_accepted_once_and_only_near_its_time(state, clock, enrol, password):
    person_id, secret = enrol("p@example.be")
    enrolled = clock.now
    with state.sessions() as session:
        person = session.get(Person, person_id)
        # The code that confirmed enrolment is spent, even within its time.
        assert not check_second_factor(session, state.accounts, person, _code(secret, enrolled), clock.now)
        clock.advance(minutes=5)
        assert not check_second_factor(session, state.accounts, person, _code(secret, clock.now - 2 * STEP), clock.now)
        assert not check_second_factor(session, state.accounts, person, _code(secret, clock.now + 2 * STEP), clock.now)
        assert check_second_factor(session, state.accounts, person, _code(secret, clock.now - STEP), clock.now)
        assert not check_second_factor(session, state.accounts, person, _code(secret, clock.now - STEP), clock.now)  # replay
        # An earlier step than the one last used is refused even within the window.
        assert check_second_factor(session, state.accounts, person, _code(secret, clock.now + STEP), clock.now)
        assert not check_second_factor(session, state.accounts, person, _code(secret, clock.now), clock.now)
        clock.advance(seconds=60)
        code = _code(secret, clock.now)
        assert check_second_factor(session, state.accounts, person, f"{code[:3]} {code[3:]}", clock.now)  # as apps show it
        for garbage in ("", "12345", "1234567", "abcdef", "１２３４５６"):
            assert not check_second_factor(session, state.accounts, person, garbage, clock.now)


def test_a_failed_second_factor_is_audited_with_the_persons_id_only(state, clock, enrol):
    person_id, secret = enrol("p@example.be")
    clock.advance(minutes=1)
    with state.sessions() as session:
        person = session.get(Person, person_id)
        assert not check_second_factor(session, state.accounts, person, "000000" if _code(secret, clock.now) != "000000" else "111111", clock.now)
        session.commit()
    with state.engine.connect() as connection:
        entries = connection.execute(select(AuditEntry.actor, AuditEntry.detail)
                                     .where(AuditEntry.kind == "person.second_factor_failed")).all()
    assert [(actor, json.loads(detail)) for actor, detail in entries] == [(f"person:{person_id}", {"person_id": str(person_id)})]


# Sign-in and its lock --------------------------------------------------------------------------


def test_the_right_password_of_an_account_not_yet_active_signs_nobody_in(state, clock, organisation, password):
    with state.sessions() as session:
        person, _ = invite(session, state.accounts, organisation_id=organisation, email="p@example.be", now=clock.now)
        set_password(person, state.accounts, password)
        session.commit()
        assert check_password(session, state.accounts, "p@example.be", password, clock.now) is None


def test_unknown_addresses_and_wrong_passwords_count_the_same_towards_the_lock(app, state, clock, enrol, password):
    person_id, secret = enrol("known@example.be")
    max_failures, lock = app.config["PEOPLE_MAX_FAILURES"], dt.timedelta(minutes=app.config["PEOPLE_LOCK_MINUTES"])
    accounts = state.accounts
    known, unknown = accounts.email_key("known@example.be"), accounts.email_key("nobody@example.be")

    def throttles(session):  # type: ignore[no-untyped-def]
        rows = {row.email_key: row for row in session.scalars(select(SignInThrottle))}
        return [(rows[key].failures, rows[key].window_start, rows[key].locked_until) for key in (known, unknown)]

    with state.sessions() as session:
        for attempt in range(1, max_failures + 1):
            assert check_password(session, accounts, "known@example.be", "wrong password!", clock.now) is None
            assert check_password(session, accounts, "nobody@example.be", "wrong password!", clock.now) is None
            first, second = throttles(session)
            assert first == second and first[0] == attempt
            assert locked(session, accounts, known, clock.now) is (attempt == max_failures)
            clock.advance(seconds=10)
        locked_at = clock.now - dt.timedelta(seconds=10)
        assert throttles(session)[0][2] == locked_at + lock
        assert check_password(session, accounts, "known@example.be", password, clock.now) is None  # locked: even right
        relock = clock.now + lock
        assert throttles(session)[0][2] == relock  # a try while locked keeps it locked
        clock.now = relock - dt.timedelta(microseconds=1)
        assert locked(session, accounts, known, clock.now)
        clock.now = relock
        assert not locked(session, accounts, known, clock.now)
        person = check_password(session, accounts, "known@example.be", password, clock.now)
        assert person is not None and person.id == person_id
        # The second factor's success clears the count; the next failure starts a fresh window.
        assert check_second_factor(session, accounts, person, _code(secret, clock.now), clock.now)
        assert session.get(SignInThrottle, known) is None


def test_failures_spread_beyond_the_window_never_lock(app, state, clock, enrol, password):
    enrol("known@example.be")
    lock = dt.timedelta(minutes=app.config["PEOPLE_LOCK_MINUTES"])
    with state.sessions() as session:
        for _ in range(app.config["PEOPLE_MAX_FAILURES"] * 3):
            assert check_password(session, state.accounts, "known@example.be", "wrong password!", clock.now) is None
            clock.now += lock / (app.config["PEOPLE_MAX_FAILURES"] - 1)
        assert check_password(session, state.accounts, "known@example.be", password, clock.now) is not None


def test_a_failed_second_factor_counts_towards_the_lock(app, state, clock, enrol, password):
    person_id, secret = enrol("known@example.be")
    clock.advance(minutes=1)
    with state.sessions() as session:
        person = session.get(Person, person_id)
        wrong = "000000" if _code(secret, clock.now) != "000000" else "111111"
        for _ in range(app.config["PEOPLE_MAX_FAILURES"]):
            assert not check_second_factor(session, state.accounts, person, wrong, clock.now)
        assert not check_second_factor(session, state.accounts, person, _code(secret, clock.now), clock.now)  # locked
        assert check_password(session, state.accounts, "known@example.be", password, clock.now) is None


def test_a_revoked_person_or_organisation_cannot_sign_in(state, clock, partners, enrol, organisation, password):
    person_id, _ = enrol("a@example.be")
    enrol("b@example.be")
    with state.sessions() as session:
        revoke(session, person_id, clock.now)
        session.commit()
        assert check_password(session, state.accounts, "a@example.be", password, clock.now) is None
        assert check_password(session, state.accounts, "b@example.be", password, clock.now) is not None
    partners.run("partners", "revoke", str(organisation))
    with state.sessions() as session:
        assert check_password(session, state.accounts, "b@example.be", password, clock.now) is None


# Web sessions ----------------------------------------------------------------------------------


def _open(state, clock, person_id) -> str:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        sid = open_session(session, state.accounts, session.get(Person, person_id), clock.now)
        session.commit()
    return sid


def _alive(state, clock, sid: str) -> bool:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        found = session_person(session, state.accounts, sid, clock.now)
        session.commit()
    return found is not None


def _sessions(state) -> int:  # type: ignore[no-untyped-def]
    with state.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(WebSession)).scalar_one()


def test_a_session_ends_after_its_idle_time(app, state, clock, enrol):
    person_id, _ = enrol("p@example.be")
    idle = dt.timedelta(minutes=app.config["PEOPLE_SESSION_IDLE_MINUTES"])
    kept, dropped = _open(state, clock, person_id), _open(state, clock, person_id)
    clock.advance(seconds=idle.total_seconds(), microseconds=-1)
    assert _alive(state, clock, kept)  # and used: its idle time starts again
    clock.advance(microseconds=1)
    assert not _alive(state, clock, dropped)
    assert _sessions(state) == 1  # the expired one is deleted
    clock.advance(seconds=idle.total_seconds() - 1)
    assert _alive(state, clock, kept)
    clock.advance(seconds=idle.total_seconds())
    assert not _alive(state, clock, kept) and _sessions(state) == 0


def test_a_session_ends_at_its_absolute_lifetime_however_used(app, state, clock, enrol):
    person_id, _ = enrol("p@example.be")
    expires = clock.now + dt.timedelta(hours=app.config["PEOPLE_SESSION_HOURS"])
    every = dt.timedelta(minutes=app.config["PEOPLE_SESSION_IDLE_MINUTES"] - 1)
    sid = _open(state, clock, person_id)
    while clock.now + every < expires:
        clock.now += every
        assert _alive(state, clock, sid)
    clock.now = expires - dt.timedelta(microseconds=1)
    assert _alive(state, clock, sid)
    clock.now = expires
    assert not _alive(state, clock, sid)


def test_an_unknown_or_malformed_session_id_is_nobody(state, clock, enrol):
    person_id, _ = enrol("p@example.be")
    sid = _open(state, clock, person_id)
    for other in ("", sid[:-1], sid + "x", "x" * 101):
        assert not _alive(state, clock, other)
    assert _alive(state, clock, sid)


def test_revoking_a_person_ends_every_session(app, state, clock, enrol):
    person_id, _ = enrol("p@example.be")
    other_id, _ = enrol("other@example.be")
    sids = [_open(state, clock, person_id) for _ in range(3)]
    other = _open(state, clock, other_id)
    assert app.test_cli_runner().invoke(args=["people", "revoke", str(person_id)]).exit_code == 0
    assert _sessions(state) == 1
    assert not any(_alive(state, clock, sid) for sid in sids) and _alive(state, clock, other)


def test_revoking_an_organisation_ends_its_peoples_sessions(state, clock, partners, enrol, organisation):
    person_id, _ = enrol("p@example.be")
    elsewhere, _ = partners.add("dpo_office", "DPO")
    outsider_id, _ = enrol("dpo@example.be", organisation_id=uuid.UUID(elsewhere))
    sid, outsider = _open(state, clock, person_id), _open(state, clock, outsider_id)
    partners.run("partners", "revoke", str(organisation))
    assert not _alive(state, clock, sid) and _alive(state, clock, outsider)


# What is stored of the second factor -----------------------------------------------------------


def test_the_totp_secret_is_not_stored_in_clear(state, clock, enrol, stored_in):
    person_id, secret = enrol("p@example.be")
    assert stored_in(str(person_id))  # the search finds what is there
    raw = base64.b32decode(secret)
    assert stored_in(secret, secret.lower(), raw, raw.hex()) == []
    with state.sessions() as session:
        assert state.accounts.totp_secret(session.get(Person, person_id)) == secret


def test_a_wrapped_secret_copied_to_another_person_does_not_unwrap(state, clock, enrol):
    first_id, _ = enrol("first@example.be")
    second_id, second_secret = enrol("second@example.be")
    with state.sessions() as session:
        first, second = session.get(Person, first_id), session.get(Person, second_id)
        second.totp_wrapped, second.totp_kek_id = first.totp_wrapped, first.totp_kek_id
        with pytest.raises((KekError, PeopleError)):
            state.accounts.totp_secret(second)
        second.totp_wrapped = None
        with pytest.raises(PeopleError):
            state.accounts.totp_secret(second)


def test_a_kek_rotation_moves_the_totp_secrets(app_config, app, clock, enrol, partners, tmp_path, app_with):
    person_id, secret = enrol("p@example.be")
    old = tmp_path / "kek-old"
    old.write_text(app_config["KEK"] + "\n")
    old.chmod(0o600)
    new = str(tmp_path / "kek-new")
    partners.run("keys", "new-kek", new)
    moving = app_with(KEK=None, KEK_FILE=new, KEK_PREVIOUS_FILES=str(old))
    with moving.app_context():
        runner = moving.test_cli_runner()
        assert "re-wrapped 1 TOTP secrets" in runner.invoke(args=["people", "rotate-kek"]).output
        assert "re-wrapped 0 TOTP secrets" in runner.invoke(args=["people", "rotate-kek"]).output  # repeatable
    rotated = app_with(KEK=None, KEK_FILE=new).extensions["safesignal"]  # the old KEK is gone
    clock.advance(minutes=1)
    with rotated.sessions() as session:
        person = session.get(Person, person_id)
        assert check_second_factor(session, rotated.accounts, person, _code(secret, clock.now), clock.now)
    stale = app_with(KEK=None, KEK_FILE=new)
    with stale.app_context():
        # Nothing left under the old KEK: a run without it has nothing to do, and says so.
        assert "re-wrapped 0" in stale.test_cli_runner().invoke(args=["people", "rotate-kek"]).output


def test_rotating_without_the_old_kek_fails_clearly(app_config, enrol, partners, tmp_path, app_with):
    enrol("p@example.be")
    new = str(tmp_path / "kek-new")
    partners.run("keys", "new-kek", new)
    without_old = app_with(KEK=None, KEK_FILE=new)
    with without_old.app_context():
        result = without_old.test_cli_runner().invoke(args=["people", "rotate-kek"])
    assert result.exit_code != 0 and "SAFESIGNAL_KEK_PREVIOUS_FILES" in result.output and "Traceback" not in result.output
