"""The field service coordinator's pages through real HTTP on the app: devices of the person's own
field service, a new enrollment code shown once with its QR code, revoking a device."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import segno
from sqlalchemy import select

from service.devices.models import EnrollmentCode
from service.partners.models import Credential
from support import csrf_token

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
OTHER_ROLES = ("pharmacy", "analyst", "dpo", "admin")


def _audit(db_engine) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql("SELECT kind, actor, detail FROM audit_entry ORDER BY seq")]


def _post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/devices/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _new_code(client, label: str = "team Noord tablet 3") -> str:  # type: ignore[no-untyped-def]
    response = _post(client, "/devices/codes", label=label)
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    codes = CODE.findall(response.get_data(as_text=True))
    assert len(set(codes)) == 1
    return codes[0]


def test_the_coordinator_lands_on_the_devices_of_their_own_service_only(app, people, partners):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("coordinator")
    other, _ = partners.add("field_service", "Straathoekwerk Elders")
    enrolling = app.test_client()
    partners.device(enrolling, person.organisation_id)  # "tablet 1", the CLI's label
    mine = partners.enroll_code(person.organisation_id, "tablet 2 of ours")
    theirs = partners.enroll_code(other, "tablet of theirs")
    assert enrolling.post("/v1/devices/enroll", json={"code": theirs}).status_code == 201

    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"] == "/devices/"
    html = client.get("/devices/").get_data(as_text=True)
    assert "tablet 1" in html and "tablet 2 of ours" in html  # a device, and a code not used yet
    assert "tablet of theirs" not in html
    assert mine not in html and theirs not in html  # codes are never shown again


def test_a_new_code_is_shown_once_with_a_qr_code_of_it_and_enrolls_a_device(app, people, db_engine, clock):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("coordinator")
    before = _audit(db_engine)
    response = _post(client, "/devices/codes", label="team Noord tablet 3")
    html = response.get_data(as_text=True)
    code = CODE.findall(html)[0]
    # The QR code on the page is the code itself (what POST /v1/devices/enroll needs), drawn inline.
    drawn = re.search(r'<svg[^>]*>.*?</svg>', html, re.S)
    assert drawn is not None and "<title>" in drawn.group(0)
    expected = segno.make_qr(code, error="m").svg_inline(scale=6, dark="#000", light="#fff")
    assert not segno.make_qr(code, error="m").is_micro  # a QR code every phone's scanner reads
    assert re.findall(r' d="([^"]+)"', drawn.group(0)) == re.findall(r' d="([^"]+)"', expected)
    assert "team Noord tablet 3" in html and response.headers["Cache-Control"] == "no-store"

    # The same row as `safesignal devices enroll-code` makes, and as it, no audit entry.
    with db_engine.connect() as connection:
        rows = connection.execute(select(EnrollmentCode.__table__)).all()
    assert len(rows) == 1
    assert str(rows[0].organisation_id).replace("-", "") == person.organisation_id.replace("-", "")
    assert rows[0].label == "team Noord tablet 3" and rows[0].used_at is None
    assert rows[0].expires_at - rows[0].created_at == dt.timedelta(hours=app.config["ENROLLMENT_CODE_TTL_HOURS"])
    assert code.encode() not in b"".join(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                                          for value in rows[0])
    assert _audit(db_engine)[len(before):] == []

    # Never shown again: not on the list, not on a reload of the list.
    listing = client.get("/devices/").get_data(as_text=True)
    assert code not in listing and "team Noord tablet 3" in listing

    # The app scans it and enrolls: the device is listed as active, the issue audited as by the API.
    enrolled = app.test_client().post("/v1/devices/enroll", json={"code": code})
    assert enrolled.status_code == 201
    listing = client.get("/devices/").get_data(as_text=True)
    assert "Active" in listing and code not in listing
    assert [kind for kind, actor, _ in _audit(db_engine)[len(before):]] == ["credential.issued"]


def test_revoking_a_device_asks_first_then_writes_what_the_cli_writes(app, people, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("coordinator")
    partners.device(app.test_client(), person.organisation_id)
    with db_engine.connect() as connection:
        device_id = connection.execute(select(Credential.id)).scalar_one()
    page = client.get(f"/devices/{device_id}/revoke")
    assert page.status_code == 200 and "tablet 1" in page.get_data(as_text=True)
    with db_engine.connect() as connection:
        assert connection.execute(select(Credential.revoked_at)).scalar_one() is None  # asking revokes nothing
    before = len(_audit(db_engine))
    response = client.post(f"/devices/{device_id}/revoke", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/devices/"
    assert "Revoked on" in client.get("/devices/").get_data(as_text=True)
    with db_engine.connect() as connection:
        assert connection.execute(select(Credential.revoked_at)).scalar_one() is not None
    entries = _audit(db_engine)[before:]
    assert [(kind, actor) for kind, actor, _ in entries] == [("credential.revoked", f"person:{person.id}")]
    assert str(device_id) in entries[0][2]

    # The CLI's `devices revoke` on another device writes the same kind of entry.
    other = partners.device(app.test_client(), person.organisation_id)
    other_id = str(uuid.UUID(hex=other[3:35]))
    partners.run("devices", "revoke", other_id)
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[-1:]] == [("credential.revoked", "cli")]
    # The revoked device's token is refused by the API.
    assert app.test_client().post("/v1/field/reports/batch", json={},
                                  headers={"Authorization": f"Bearer {other}"}).status_code == 401


def test_another_organisations_device_is_not_found(app, people, partners, db_engine):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("coordinator")
    other, _ = partners.add("field_service", "Straathoekwerk Elders")
    theirs = partners.device(app.test_client(), other)
    theirs_id = str(uuid.UUID(hex=theirs[3:35]))
    pharmacy = partners.pharmacy()
    pharmacy_id = str(uuid.UUID(hex=pharmacy[3:35]))
    token = csrf_token(client.get("/devices/").get_data(as_text=True))
    for ident in (theirs_id, pharmacy_id, str(uuid.uuid4()), "not-an-id"):
        assert client.get(f"/devices/{ident}/revoke").status_code == 404
        response = client.post(f"/devices/{ident}/revoke", data={"csrf_token": token})
        assert response.status_code == 404 and response.mimetype == "text/html"
    with db_engine.connect() as connection:
        assert connection.execute(select(Credential.revoked_at).where(Credential.revoked_at.is_not(None))).all() == []


@pytest.mark.parametrize("label, message", [("", "Say which device"), ("x" * 101, "At most 100 characters")])
def test_a_bad_label_is_a_field_error_and_issues_nothing(app, people, db_engine, label, message):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("coordinator")
    response = _post(client, "/devices/codes", label=label)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and 'aria-invalid="true"' in html
    assert not CODE.search(html)
    with db_engine.connect() as connection:
        assert connection.execute(select(EnrollmentCode.id)).all() == []


def test_posts_without_their_csrf_token_are_refused(app, people, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("coordinator")
    partners.device(app.test_client(), person.organisation_id)
    with db_engine.connect() as connection:
        device_id = connection.execute(select(Credential.id)).scalar_one()
    assert client.post("/devices/codes", data={"label": "forged"}).status_code == 400
    assert client.post(f"/devices/{device_id}/revoke").status_code == 400
    with db_engine.connect() as connection:
        assert connection.execute(select(EnrollmentCode.label)).scalars().all() == ["tablet 1"]
        assert connection.execute(select(Credential.revoked_at)).scalar_one() is None


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_get_403(app, people, partners, db_engine, role):  # type: ignore[no-untyped-def]
    coordinator = people.create("coordinator")
    partners.device(app.test_client(), coordinator.organisation_id)
    with db_engine.connect() as connection:
        device_id = connection.execute(select(Credential.id)).scalar_one()
    client, _ = people.signed_in(role)
    # The 403 page carries the header's forms, so a token of this session.
    token = csrf_token(client.get("/devices/").get_data(as_text=True))
    for path in ("/devices/", f"/devices/{device_id}/revoke"):
        assert client.get(path).status_code == 403
    assert client.post("/devices/codes", data={"csrf_token": token, "label": "x"}).status_code == 403
    assert client.post(f"/devices/{device_id}/revoke", data={"csrf_token": token}).status_code == 403
    with db_engine.connect() as connection:
        assert connection.execute(select(Credential.revoked_at).where(Credential.id == device_id)).scalar_one() is None
        assert len(connection.execute(select(EnrollmentCode.id)).all()) == 1


def test_nobody_is_sent_to_sign_in(app, partners, db_engine):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.get("/devices/")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in?next=/devices/"
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/devices/codes", data={"csrf_token": token, "label": "x"})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    with db_engine.connect() as connection:
        assert connection.execute(select(EnrollmentCode.id)).all() == []


@pytest.mark.parametrize("label", ["tablet\x00 3", "tablet\n3", "\u202etablet"])
def test_a_label_with_control_characters_is_refused(app, people, db_engine, label):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("coordinator")
    response = _post(client, "/devices/codes", label=label)
    assert response.status_code == 422 and not CODE.search(response.get_data(as_text=True))
    with db_engine.connect() as connection:
        assert connection.execute(select(EnrollmentCode.id)).all() == []
