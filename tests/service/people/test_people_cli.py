"""`safesignal people`: invite, list, revoke; the invitation link and e-mail; no address kept anywhere."""

from __future__ import annotations

import json
import re
import uuid

import pyotp
import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.people.mail import SUBJECT
from service.people.services import check_password, confirm_totp, invited_person, new_totp, set_password
from support import free_port, smtp_server

ADDRESS = "Jan.Peeters@Gemeente-Voorbeeld.be"


def _invoke(app, *args):  # type: ignore[no-untyped-def]
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _invite(app, organisation, address=ADDRESS):  # type: ignore[no-untyped-def]
    result = _invoke(app, "people", "invite", "--org", str(organisation), "--email", address)
    assert result.exit_code == 0, result.output
    return result


def _token(output: str) -> str:
    (link,) = re.findall(r"http\S+/invitation/(\S+)", output)
    return link


def _person_id(output: str) -> uuid.UUID:
    return uuid.UUID(re.search(r"person ([0-9a-f-]{36})", output)[1])  # type: ignore[index]


def _audit(state, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with state.engine.connect() as connection:
        return [json.loads(detail) for detail in connection.scalars(select(AuditEntry.detail).where(AuditEntry.kind == kind))]


def test_invite_prints_a_link_that_works_once(app, state, clock, organisation, password):
    output = _invite(app, organisation).output
    person_id, token = _person_id(output), _token(output)
    assert f"person {person_id} (analyst) invited to organisation {organisation}" in output
    assert output.count(token) == 1 and f"http://127.0.0.1:8000/invitation/{token}" in output
    assert ADDRESS not in output and ADDRESS.lower() not in output
    with state.sessions() as session:
        person = invited_person(session, token, clock.now)
        assert person is not None and person.id == person_id
        set_password(person, state.accounts, password)
        secret = new_totp(person, state.accounts)
        assert confirm_totp(session, person, state.accounts, pyotp.TOTP(secret).at(clock.now), clock.now)
        session.commit()
    with state.sessions() as session:
        assert invited_person(session, token, clock.now) is None  # used up
        assert check_password(session, state.accounts, ADDRESS.upper(), password, clock.now).id == person_id
    listing = _invoke(app, "people", "list").output
    assert re.search(rf"{person_id}  {organisation}  analyst +active ", listing)


def test_the_link_uses_the_public_url(app_with, organisation):
    output = _invite(app_with(PUBLIC_URL="https://safesignal.example.be/"), organisation).output
    assert re.search(r"https://safesignal\.example\.be/invitation/[\w-]{43}\n", output)


def test_an_invitation_expires_after_its_hours(app, state, clock, organisation):
    token = _token(_invite(app, organisation).output)
    hours = app.config["PEOPLE_INVITATION_HOURS"]
    clock.advance(hours=hours, microseconds=-1)
    with state.sessions() as session:
        assert invited_person(session, token, clock.now) is not None
    assert " invited " in _invoke(app, "people", "list").output
    clock.advance(microseconds=1)
    with state.sessions() as session:
        assert invited_person(session, token, clock.now) is None
    assert " invitation expired " in _invoke(app, "people", "list").output


def test_a_password_and_second_factor_set_too_late_do_not_activate(app, state, clock, organisation, password):
    token = _token(_invite(app, organisation).output)
    with state.sessions() as session:
        person = invited_person(session, token, clock.now)
        set_password(person, state.accounts, password)
        secret = new_totp(person, state.accounts)
        clock.advance(hours=app.config["PEOPLE_INVITATION_HOURS"])
        assert not confirm_totp(session, person, state.accounts, pyotp.TOTP(secret).at(clock.now), clock.now)
        assert person.active_at is None


def test_inviting_again_replaces_the_link(app, state, clock, organisation):
    first = _invite(app, organisation).output
    second = _invite(app, organisation, ADDRESS.lower()).output  # the same address, as typed another time
    assert _person_id(first) == _person_id(second) and _token(first) != _token(second)
    with state.sessions() as session:
        assert invited_person(session, _token(first), clock.now) is None
        assert invited_person(session, _token(second), clock.now).id == _person_id(first)
    assert len(_invoke(app, "people", "list").output.splitlines()) == 1


def test_invite_refuses_clearly(app, partners, enrol, organisation):
    enrol("active@example.be")
    cases = [
        (("--org", str(organisation), "--email", "not an address"), "not an e-mail address"),
        (("--org", str(uuid.uuid4()), "--email", ADDRESS), "no such organisation"),
        (("--org", "nope", "--email", ADDRESS), "not an id"),
        (("--org", str(organisation), "--email", "ACTIVE@example.be"), "already has an account"),
    ]
    other, _ = partners.add("dpo_office", "DPO")
    _invite(app, other, "pending@example.be")
    cases.append((("--org", str(organisation), "--email", "pending@example.be"), "pending invitation to another organisation"))
    partners.run("partners", "revoke", other)
    cases.append((("--org", other, "--email", "new@example.be"), "revoked"))
    for args, message in cases:
        result = _invoke(app, "people", "invite", *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_each_kind_of_organisation_gives_its_role(app, partners):
    roles = {"pharmacy": "pharmacy", "field_service": "coordinator", "prevention_service": "analyst", "dpo_office": "dpo"}
    for kind, role in roles.items():
        organisation, _ = partners.add(kind, f"{kind} test", partners.area() if kind == "pharmacy" else None)
        output = _invite(app, organisation, f"{kind}@example.be").output
        assert f"({role}) invited to organisation {organisation}" in output


def test_list_shows_each_status_and_no_secret(app, state, clock, enrol, organisation):
    active, _ = enrol("active@example.be")
    invited = _person_id(_invite(app, organisation, "invited@example.be").output)
    clock.advance(hours=app.config["PEOPLE_INVITATION_HOURS"])
    expired = _person_id(_invite(app, organisation, "expired@example.be").output)
    clock.advance(hours=app.config["PEOPLE_INVITATION_HOURS"])
    revoked, _ = enrol("revoked@example.be")
    _invite(app, organisation, "invited-late@example.be")
    _invoke(app, "people", "revoke", str(revoked))
    lines = {line.split()[0]: line for line in _invoke(app, "people", "list").output.splitlines()}
    assert len(lines) == 5
    assert re.search(r"analyst +active +- +2026-11-29 10:17$", lines[str(active)])
    assert " invitation expired " in lines[str(invited)] and " invitation expired " in lines[str(expired)]
    assert " revoked " in lines[str(revoked)]
    assert "@" not in "".join(lines.values()) and "argon2" not in "".join(lines.values())


def test_revoke_ends_the_account_and_is_audited(app, state, clock, enrol, organisation, password):
    person_id, _ = enrol("revoke-me@example.be")
    result = _invoke(app, "people", "revoke", str(person_id))
    assert result.exit_code == 0 and f"revoked person {person_id}" in result.output
    with state.sessions() as session:
        assert check_password(session, state.accounts, "revoke-me@example.be", password, clock.now) is None
    again = _invoke(app, "people", "revoke", str(person_id))
    assert again.exit_code == 0 and "already revoked" in again.output
    assert _audit(state, "person.revoked") == [{"person_id": str(person_id), "organisation_id": str(organisation)}]


def test_revoke_refuses_unknown_ids_clearly(app):
    unknown = _invoke(app, "people", "revoke", str(uuid.uuid4()))
    assert unknown.exit_code != 0 and "no such person" in unknown.output and "Traceback" not in unknown.output
    garbled = _invoke(app, "people", "revoke", "someone")
    assert garbled.exit_code != 0 and "not an id" in garbled.output


def test_the_address_is_stored_nowhere_and_the_audit_log_has_ids_only(app, state, clock, organisation, password, stored_in):
    output = _invite(app, organisation).output
    person_id = _person_id(output)
    with state.sessions() as session:  # the account in use: a password, a second factor, a failed sign-in
        person = invited_person(session, _token(output), clock.now)
        set_password(person, state.accounts, password)
        secret = new_totp(person, state.accounts)
        assert confirm_totp(session, person, state.accounts, pyotp.TOTP(secret).at(clock.now), clock.now)
        assert check_password(session, state.accounts, ADDRESS, "wrong password!", clock.now) is None
        session.commit()
    _invoke(app, "people", "revoke", str(person_id))
    assert stored_in("Preventiedienst Test") == ["organisation.name"]  # the search finds what is there
    local, domain = ADDRESS.split("@")
    assert stored_in(ADDRESS, ADDRESS.lower(), local, local.lower(), domain.lower()) == []
    invited = _audit(state, "person.invited")
    assert invited == [{"person_id": str(person_id), "organisation_id": str(organisation), "role": "analyst"}]
    assert _audit(state, "person.activated") == [{"person_id": str(person_id), "organisation_id": str(organisation)}]


# E-mail ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    """A real SMTP server on a free local port, without TLS: (controller, inbox)."""
    with smtp_server() as served:
        yield served


def test_invite_emails_the_link(app_with, state, clock, organisation, smtp):
    controller, inbox = smtp
    application = app_with(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=False,
                           SMTP_FROM="safesignal <no-reply@gemeente-voorbeeld.be>")
    result = _invoke(application, "people", "invite", "--org", str(organisation), "--email", ADDRESS)
    assert result.exit_code == 0, result.output
    assert "e-mailed the link" in result.output and ADDRESS not in result.output
    ((recipients, message),) = inbox.received
    assert recipients == [ADDRESS]
    assert message["To"] == ADDRESS and message["Subject"] == SUBJECT
    assert message["From"] == "safesignal <no-reply@gemeente-voorbeeld.be>"
    body = message.get_content()
    token = _token(result.output)
    assert f"http://127.0.0.1:8000/invitation/{token}" in body
    assert all(word in body for word in ("uitgenodigd", "invité", "eingeladen", "invited"))
    assert message.get_content_type() == "text/plain"
    with state.sessions() as session:
        assert invited_person(session, token, clock.now) is not None


def test_an_unreachable_server_leaves_the_invitation_and_says_so(app_with, state, clock, organisation):
    application = app_with(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)  # nothing listens
    result = _invoke(application, "people", "invite", "--org", str(organisation), "--email", ADDRESS)
    assert result.exit_code == 1
    assert "the e-mail could not be sent (ConnectionRefusedError" in result.output
    assert "Traceback" not in result.output and ADDRESS not in result.output and ADDRESS.lower() not in result.output
    with state.sessions() as session:
        assert invited_person(session, _token(result.output), clock.now) is not None  # committed, the link printed
    assert " invited " in _invoke(application, "people", "list").output


def test_starttls_required_but_not_offered_sends_nothing(app_with, state, clock, organisation, smtp):
    controller, inbox = smtp
    application = app_with(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=True)
    result = _invoke(application, "people", "invite", "--org", str(organisation), "--email", ADDRESS)
    assert result.exit_code == 1 and "the e-mail could not be sent (SMTPNotSupportedError" in result.output
    assert inbox.received == []  # no fallback to plain text
