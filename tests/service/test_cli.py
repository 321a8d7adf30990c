"""The operator's commands: partners, devices, keys, demo."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import bearer
from sqlalchemy import select

from service.reports.models import Report
from service.reports.services import read_payload


def _invoke(app, *args):  # type: ignore[no-untyped-def]
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


def test_rotating_the_kek_rewraps_data_keys_without_touching_payloads(app, client, partners, clock, tmp_path, app_with):
    token = partners.pharmacy()
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    assert client.post("/v1/pharmacy/reports", json={"category": "food_insecurity", "observed_at": observed, "note": "voedselpakket"}, headers=bearer(token)).status_code == 201
    with app.extensions["safesignal"].sessions() as session:
        (before,) = session.scalars(select(Report))

    new_kek = tmp_path / "kek-2027"
    output = partners.run("keys", "rotate-kek", "--new-kek-file", str(new_kek))
    assert "re-wrapped 1 data keys" in output

    rotated = app_with(KEK=None, KEK_FILE=str(new_kek))  # the old KEK is gone
    with rotated.extensions["safesignal"].sessions() as session:
        (after,) = session.scalars(select(Report))
    assert after.payload == before.payload  # not re-encrypted
    assert read_payload(rotated.extensions["safesignal"].intake, after).note == "voedselpakket"
    # A second run finds nothing left to move.
    again = _invoke(rotated, "keys", "rotate-kek", "--new-kek-file", str(new_kek))
    assert again.exit_code == 0 and "re-wrapped 0 data keys" in again.output


def test_the_old_kek_cannot_read_rotated_keys(app, client, partners, clock, tmp_path, app_with):
    from crypto.errors import DecryptionError

    token = partners.pharmacy()
    observed = (clock.now - dt.timedelta(hours=1)).isoformat()
    client.post("/v1/pharmacy/reports", json={"category": "food_insecurity", "observed_at": observed}, headers=bearer(token))
    partners.run("keys", "rotate-kek", "--new-kek-file", str(tmp_path / "kek-new"))
    stale = app_with()  # still configured with the old KEK only
    with stale.extensions["safesignal"].sessions() as session:
        (report,) = session.scalars(select(Report))
    with pytest.raises(DecryptionError):
        read_payload(stale.extensions["safesignal"].intake, report)


def test_demo_prints_fresh_tokens_and_revokes_the_previous_ones(app, app_with):
    client = app_with(AUTH_CACHE_SECONDS=0).test_client()
    first = dict(re.findall(r"export (\w+)=(\S+)", _invoke(app, "demo").output))
    second = dict(re.findall(r"export (\w+)=(\S+)", _invoke(app, "demo").output))
    assert set(first) == {"PHARMACY_TOKEN", "ENROLL_CODE", "ANALYST_TOKEN", "DPO_TOKEN"}
    assert client.get("/v1/taxonomy", headers=bearer(first["ANALYST_TOKEN"])).status_code == 401
    assert client.get("/v1/taxonomy", headers=bearer(second["ANALYST_TOKEN"])).status_code == 200
    assert client.post("/v1/devices/enroll", json={"code": second["ENROLL_CODE"]}).status_code == 201


def test_demo_refuses_production(app_with):
    production = app_with(ENV="production")
    result = production.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "development mode only" in result.output
