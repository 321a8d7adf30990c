"""The operator's commands: partners, devices, keys, demo."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from support import bearer
from sqlalchemy import select

from service.reports.models import Report
from service.reports.services import read_payload


def _invoke(app, *args):  # type: ignore[no-untyped-def]
    # Inside this app's context: the commands act on the current app, and pytest-flask has
    # pushed the default `app` fixture's context for the test.
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_a_pharmacy_needs_a_known_area(app, partners):
    missing = _invoke(app, "partners", "add", "--kind", "pharmacy", "--name", "Apotheek")
    assert missing.exit_code != 0 and "registered area" in missing.output
    unknown = _invoke(app, "partners", "add", "--kind", "pharmacy", "--name", "Apotheek", "--area", "atlantis")
    assert unknown.exit_code != 0 and "not an area" in unknown.output


def test_tokens_are_printed_once_and_never_listed(app, client, partners):
    organisation_id, token = partners.add("prevention_service", "Preventiedienst")
    listing = partners.run("partners", "list")
    assert organisation_id in listing and "Preventiedienst" in listing
    assert token not in listing and token[35:] not in listing
    another = partners.run("partners", "token", organisation_id).rsplit(": ", 1)[1].strip()
    assert another != token
    for each in (token, another):
        assert client.get("/v1/taxonomy", headers=bearer(each)).status_code == 200


def test_revoking_one_credential_keeps_the_others(app_with, partners):
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    organisation_id, first = partners.add("dpo_office", "DPO")
    second = partners.run("partners", "token", organisation_id).rsplit(": ", 1)[1].strip()
    credential_id = re.search(r"credential ([0-9a-f-]{36})", partners.run("partners", "list"))[1]
    revoked = first if first[3:35] == credential_id.replace("-", "") else second
    kept = second if revoked is first else first
    partners.run("partners", "revoke", credential_id)
    assert client.get("/v1/areas", headers=bearer(revoked)).status_code == 401
    assert client.get("/v1/areas", headers=bearer(kept)).status_code == 200


def test_revoking_an_unknown_id_fails_clearly(app):
    result = _invoke(app, "partners", "revoke", "00000000-0000-0000-0000-000000000000")
    assert result.exit_code != 0 and "no organisation or credential" in result.output
    assert _invoke(app, "partners", "revoke", "not-an-id").exit_code != 0


def test_enrollment_codes_are_for_field_services_only(app, partners):
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek", partners.area())
    result = _invoke(app, "devices", "enroll-code", "--org", pharmacy_id, "--label", "x")
    assert result.exit_code != 0 and "field services only" in result.output


def test_an_enrollment_code_expires(app, client, partners, clock):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    code = partners.enroll_code(organisation_id)
    clock.advance(hours=app.config["ENROLLMENT_CODE_TTL_HOURS"])
    response = client.post("/v1/devices/enroll", json={"code": code})
    assert response.status_code == 403 and response.get_json()["code"] == 403


def test_an_enrollment_code_works_one_microsecond_before_it_expires(app, client, partners, clock):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    code = partners.enroll_code(organisation_id)
    clock.advance(hours=app.config["ENROLLMENT_CODE_TTL_HOURS"], microseconds=-1)
    assert client.post("/v1/devices/enroll", json={"code": code}).status_code == 201


def test_devices_are_listed_and_revoked(app, client, partners):
    organisation_id, _ = partners.add("field_service", "Straathoekwerk")
    partners.device(client, organisation_id)
    listing = partners.run("devices", "list", "--org", organisation_id)
    device_id = listing.split()[0]
    assert "active" in listing and "tablet 1" in listing
    partners.run("devices", "revoke", device_id)
    assert "revoked" in partners.run("devices", "list")


def _kek_file(app_config, path):  # type: ignore[no-untyped-def]
    """The test app's KEK (given as SAFESIGNAL_KEK) written to a file, as an operator keeps it."""
    path.write_text(app_config["KEK"] + "\n")
    path.chmod(0o600)
    return str(path)


def test_rotating_the_kek_rewraps_data_keys_without_touching_payloads(app, app_config, client, partners, clock, tmp_path, app_with, people):
    token = partners.pharmacy()
    person = people.create("analyst")
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    report = {"category": "food_insecurity", "observed_at": observed, "note": "voedselpakket"}
    assert client.post("/v1/pharmacy/reports", json=report, headers=bearer(token)).status_code == 201
    with app.extensions["safesignal"].sessions() as session:
        (before,) = session.scalars(select(Report))

    old, new = _kek_file(app_config, tmp_path / "kek-old"), str(tmp_path / "kek-new")
    assert "created local:" in partners.run("keys", "new-kek", new)
    assert _invoke(app, "keys", "new-kek", new).exit_code != 0  # never overwrites

    # Restarted with the new KEK current and the old one readable: new data keys use the new KEK.
    moving = app_with(KEK=None, KEK_FILE=new, KEK_PREVIOUS_FILES=old)
    clock.advance(days=1)
    moving_client = moving.test_client()
    assert moving_client.post("/v1/pharmacy/reports", json={**report, "observed_at": clock.now.isoformat()}, headers=bearer(token)).status_code == 201
    output = _invoke(moving, "keys", "rotate-kek").output
    assert "re-wrapped 1 data keys" in output and "remove the old KEK" in output
    assert "re-wrapped 0 data keys" in _invoke(moving, "keys", "rotate-kek").output  # repeatable

    rotated = app_with(KEK=None, KEK_FILE=new)  # the old KEK is gone
    with rotated.extensions["safesignal"].sessions() as session:
        reports = {r.id: r for r in session.scalars(select(Report))}
    assert reports[before.id].payload == before.payload  # not re-encrypted
    notes = [read_payload(rotated.extensions["safesignal"].intake, r).note for r in reports.values()]
    assert notes == ["voedselpakket", "voedselpakket"]
    # People's TOTP secrets moved too: the person still signs in with the old KEK gone.
    assert "re-wrapped 1 people's TOTP secrets" in output
    from support import People

    People(rotated, partners).sign_in(rotated.test_client(), person)


def test_the_old_kek_cannot_read_rotated_keys(app, app_config, client, partners, clock, tmp_path, app_with):
    from crypto.errors import DecryptionError

    token = partners.pharmacy()
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    client.post("/v1/pharmacy/reports", json={"category": "food_insecurity", "observed_at": observed}, headers=bearer(token))
    new = str(tmp_path / "kek-new")
    partners.run("keys", "new-kek", new)
    moving = app_with(KEK=None, KEK_FILE=new, KEK_PREVIOUS_FILES=_kek_file(app_config, tmp_path / "kek-old"))
    assert "re-wrapped 1" in _invoke(moving, "keys", "rotate-kek").output
    stale = app_with()  # still configured with the old KEK only
    with stale.extensions["safesignal"].sessions() as session:
        (report,) = session.scalars(select(Report))
    with pytest.raises(DecryptionError):
        read_payload(stale.extensions["safesignal"].intake, report)


def test_demo_prints_fresh_tokens_and_revokes_the_previous_ones(app, app_with):
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    first = dict(re.findall(r"export (\w+)=(\S+)", _invoke(app, "demo").output))
    second = dict(re.findall(r"export (\w+)=(\S+)", _invoke(app, "demo").output))
    assert set(first) == {"PHARMACY_TOKEN", "ENROLL_CODE", "ANALYST_TOKEN", "DPO_TOKEN", "WEEK"}
    assert client.get("/v1/taxonomy", headers=bearer(first["ANALYST_TOKEN"])).status_code == 401
    assert client.get("/v1/taxonomy", headers=bearer(second["ANALYST_TOKEN"])).status_code == 200
    assert client.post("/v1/devices/enroll", json={"code": second["ENROLL_CODE"]}).status_code == 201


_DEMO_PERSON = re.compile(r"#   (\w+) +(\S+@\S+) +password (\S+) +TOTP secret ([A-Z2-7]+)")


def test_demo_prints_one_person_per_role_who_signs_in_and_the_next_run_replaces_them(app, people, clock):
    from support import Person, csrf_token

    first = {role: Person("", "", email, password, secret)
             for role, email, password, secret in _DEMO_PERSON.findall(_invoke(app, "demo").output)}
    assert set(first) == {"pharmacy", "coordinator", "analyst", "dpo", "admin"}
    client = app.test_client()
    people.sign_in(client, first["analyst"])
    clock.advance(seconds=30)
    second = {role: Person("", "", email, password, secret)
              for role, email, password, secret in _DEMO_PERSON.findall(_invoke(app, "demo").output)}
    assert second["analyst"].password != first["analyst"].password
    # The previous run's sessions end, and its password no longer signs in.
    assert client.get("/").headers["Location"].startswith("/sign-in")
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"csrf_token": csrf_token(page), "email": first["dpo"].email,
                                             "password": first["dpo"].password})
    assert response.status_code == 200
    people.sign_in(app.test_client(), second["dpo"])


def test_demo_leaves_tokens_made_by_hand_alone(app, app_with):
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    _invoke(app, "demo")
    listing = _invoke(app, "partners", "list").output
    analyst_org = next(line.split()[0] for line in listing.splitlines() if "Preventiedienst" in line)
    by_hand = _invoke(app, "partners", "token", analyst_org).output.rsplit(": ", 1)[1].strip()
    _invoke(app, "demo")
    assert client.get("/v1/taxonomy", headers=bearer(by_hand)).status_code == 200


def test_the_command_offers_none_of_flasks_generic_options():
    from service.cli import cli

    names = {param.name for param in cli.params}
    assert not names & {"app", "env_file", "debug"}


def test_demo_refuses_production(app_with):
    result = _invoke(app_with(ENV="production"), "demo")
    assert result.exit_code != 0 and "development mode only" in result.output


def test_demo_releases_synthetic_signals_once_for_the_demo_analyst(app, app_with, clock, db_engine):
    from sqlalchemy import func, select

    from service.signals.models import Release

    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    output = _invoke(app, "demo").output
    first, last = re.search(r"synthetic signals released for the analyst: (\S+) to (\S+)", output).groups()  # type: ignore[union-attr]
    token = dict(re.findall(r"export (\w+)=(\S+)", output))["ANALYST_TOKEN"]
    with db_engine.connect() as connection:
        weeks = connection.execute(select(func.count(func.distinct(Release.week)))).scalar_one()
    assert weeks == 10
    response = client.get(f"/v1/signals/weeks/{last}/alerts?geo=municipality", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["flagged"] >= 1  # the planted rise
    again = _invoke(app, "demo").output
    assert "synthetic" not in again
    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Release)).scalar_one() == 10  # nothing added


def test_demo_prints_the_week_readme_reads_and_its_alerts_flag_the_rise(app, app_with):
    """README's analyst examples use $WEEK; the demo prints it, and it is the week with the rise,
    whose alerts read a full baseline of released weeks (charged 1 per week opened)."""
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    output = _invoke(app, "demo").output
    released = re.search(r"synthetic signals released for the analyst: (\S+) to (\S+)", output).groups()  # type: ignore[union-attr]
    exported = dict(re.findall(r"export (\w+)=(\S+)", output))
    week, token = exported["WEEK"], exported["ANALYST_TOKEN"]
    assert week == released[1]
    counts = client.get(f"/v1/signals/weeks/{week}/counts?geo=municipality", headers=bearer(token)).get_json()
    assert counts["charged"] == 1.0
    alerts = client.get(f"/v1/signals/weeks/{week}/alerts?geo=municipality", headers=bearer(token)).get_json()
    assert alerts["flagged"] >= 1 and alerts["charged"] == 7.0
    assert len(alerts["baseline_weeks"]) == 7 and released[0] <= alerts["baseline_weeks"][0]
    assert dict(re.findall(r"export (\w+)=(\S+)", _invoke(app, "demo").output))["WEEK"] == week  # a second run: the same


def test_readme_examples_read_the_week_the_demo_prints():
    """No analyst example in README names a week of its own: pasted later, it would show another week."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert re.findall(r"/v1/signals/weeks/(\S+?)/", readme) and set(re.findall(r"/v1/signals/weeks/(\S+?)/", readme)) == {"$WEEK"}


class _WallClock:
    """A clock that moves on at every reading, as the wall clock does between audited steps."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now


def test_the_demo_leaves_an_audit_log_that_verifies_and_a_contact_notified(app_with, clock):
    from service.demo import setup_demo

    application = app_with(CLOCK=_WallClock(clock.now))
    state = application.extensions["safesignal"]
    outputs = []
    for _ in range(2):  # a second `make run` refreshes the tokens
        with state.sessions() as session:
            outputs.append("\n".join(setup_demo(session, state, state.clock())))
    verification = state.retention.verify_audit()
    assert verification.valid, verification.problem
    assert "notified: alice (Alice met Bob, Carol did not)" in outputs[0]
    assert "contact tracing" not in outputs[1]  # played once
