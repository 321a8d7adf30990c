"""The operator's pages through real HTTP on the app: organisations, tokens, tracing grants,
territories and people, each leaving the rows and audit entries the `safesignal` command leaves."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from service.partners.models import Credential, Organisation
from service.partners.services import authenticate
from service.people.models import Person
from service.signals.models import Territory
from support import People, Partners, csrf_token, free_port, is_signed_in, smtp_server

TOKEN = re.compile(r"ss_[0-9a-f]{32}[A-Za-z0-9_-]{43}")
LINK = re.compile(r"/invitation/([A-Za-z0-9_-]{43})")
OTHER_ROLES = ("pharmacy", "coordinator", "analyst", "dpo")


@pytest.fixture
def operator(people):  # type: ignore[no-untyped-def]
    """A signed-in operator's test client and person."""
    return people.signed_in("admin")


def _audit(db_engine) -> list[tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT kind, actor, detail FROM audit_entry ORDER BY seq").all()
    return [(kind, actor, json.loads(detail)) for kind, actor, detail in rows]


def _kinds_since(db_engine, before: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [kind for kind, _, _ in _audit(db_engine)[before:]]


def _post(client, path: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/operator/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _organisation(db_engine, name: str):  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return connection.execute(select(Organisation.__table__).where(Organisation.name == name)).one()


def _count(db_engine, model) -> int:  # type: ignore[no-untyped-def]
    with db_engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_operator_lands_on_the_organisations(app, operator, partners):  # type: ignore[no-untyped-def]
    client, _ = operator
    partners.add("pharmacy", "Apotheek De Linde", partners.area())
    landing = client.get("/")
    assert landing.status_code == 302 and landing.headers["Location"] == "/operator/"
    html = client.get("/operator/").get_data(as_text=True)
    assert "Apotheek De Linde" in html and "Pharmacy" in html


def test_adding_a_pharmacy_shows_its_token_once_and_audits_as_the_cli(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    area = partners.area(3)
    before = len(_audit(db_engine))
    response = _post(client, "/operator/organisations",
                     {"kind": "pharmacy", "name": "Apotheek De Linde", "area": area, "label": "counter"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-800:]
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1
    token = tokens.pop()
    row = _organisation(db_engine, "Apotheek De Linde")
    assert (row.kind, row.area, row.revoked_at) == ("pharmacy", area, None)
    entries = _audit(db_engine)[before:]
    assert [(kind, actor) for kind, actor, _ in entries] == [("credential.issued", f"person:{person.id}")]
    assert entries[0][2]["role"] == "pharmacy"
    with db_engine.connect() as connection:
        principal = authenticate(connection, token)
        assert principal is not None and str(principal.organisation_id) == str(row.id)
        assert connection.execute(select(Credential.label)).scalars().all()[-1] == "counter"

    # `safesignal partners add` leaves the same kinds of entry.
    cli_before = len(_audit(db_engine))
    partners.add("pharmacy", "Apotheek Via CLI", area)
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[cli_before:]] == [("credential.issued", "cli")]

    # Never shown again.
    for path in ("/operator/", f"/operator/organisations/{row.id}", "/operator/people"):
        assert token not in client.get(path).get_data(as_text=True)


def test_a_prevention_service_with_its_territory_is_audited_as_the_cli_does(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    municipality = sorted(app.extensions["safesignal"].signals.grids)[0]
    before = len(_audit(db_engine))
    response = _post(client, "/operator/organisations",
                     {"kind": "prevention_service", "name": "Preventiedienst", "municipalities": municipality,
                      "label": "default"})
    assert response.status_code == 200 and len(TOKEN.findall(response.get_data(as_text=True))) == 1
    page_entries = [(kind, actor) for kind, actor, _ in _audit(db_engine)[before:]]
    cli_before = len(_audit(db_engine))
    partners.run("partners", "add", "--kind", "prevention_service", "--name", "Via CLI", "--municipality", municipality)
    cli_entries = [(kind, actor) for kind, actor, _ in _audit(db_engine)[cli_before:]]
    assert [kind for kind, _ in page_entries] == [kind for kind, _ in cli_entries] == ["signals.territory", "credential.issued"]
    assert {actor for _, actor in page_entries} == {f"person:{person.id}"}
    row = _organisation(db_engine, "Preventiedienst")
    with db_engine.connect() as connection:
        assert connection.execute(select(Territory.municipality).where(Territory.organisation_id == row.id)).scalars().all() == [municipality]


def test_a_field_service_gets_no_token(app, operator, db_engine):  # type: ignore[no-untyped-def]
    client, _ = operator
    before = len(_audit(db_engine))
    response = _post(client, "/operator/organisations", {"kind": "field_service", "name": "Straathoekwerk", "label": "default"})
    assert response.status_code == 200 and not TOKEN.search(response.get_data(as_text=True))
    row = _organisation(db_engine, "Straathoekwerk")
    with db_engine.connect() as connection:
        assert connection.execute(select(Credential.id).where(Credential.organisation_id == row.id)).all() == []
    assert _kinds_since(db_engine, before) == []
    # A token for it is refused, as `partners token` refuses it.
    assert _post(client, f"/operator/organisations/{row.id}/tokens", {"label": "x"}).status_code == 409


@pytest.mark.parametrize("data, message", [
    ({"kind": "pharmacy", "name": "Apotheek", "area": ""}, "A pharmacy needs its registered area"),
    ({"kind": "pharmacy", "name": "Apotheek", "area": "not-an-area"}, "Not an area of this deployment"),
    ({"kind": "pharmacy", "name": "", "area": "AREA"}, "Give the organisation"),
    ({"kind": "pharmacy", "name": "x" * 201, "area": "AREA"}, "At most 200 characters"),
    ({"kind": "hospital", "name": "Ziekenhuis"}, "Choose a kind"),
    ({"kind": "dpo_office", "name": "DPO", "municipalities": "MUNICIPALITY"}, "Only a prevention service has a territory"),
    ({"kind": "prevention_service", "name": "PS", "municipalities": "atlantis"}, "Not a municipality of this deployment"),
    ({"kind": "dpo_office", "name": "DPO", "label": ""}, "Give the token a label"),
    ({"kind": "dpo_office", "name": "DPO\x00", "label": "x"}, "Use letters, digits"),
    ({"kind": "dpo_office", "name": "DPO", "label": "laptop\u202e"}, "Use letters, digits"),
    ({"kind": "dpo_office", "name": "DPO", "area": "\x00"}, "Not an area of this deployment"),
])
def test_organisation_field_errors_add_nothing(app, operator, partners, db_engine, data, message):  # type: ignore[no-untyped-def]
    client, _ = operator
    data = {"label": "default", **data}
    data = {key: value.replace("AREA", partners.area()).replace("MUNICIPALITY", sorted(app.extensions["safesignal"].signals.grids)[0])
            for key, value in data.items()}
    organisations, entries = _count(db_engine, Organisation), len(_audit(db_engine))
    response = _post(client, "/operator/organisations", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html[-1500:]
    assert 'class="error"' in html and not TOKEN.search(html)
    assert _count(db_engine, Organisation) == organisations and len(_audit(db_engine)) == entries


def test_a_token_is_issued_once_and_revoked_after_asking(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    organisation_id, first = partners.add("dpo_office", "DPO office")
    before = len(_audit(db_engine))
    assert _post(client, f"/operator/organisations/{organisation_id}/tokens", {"label": ""}).status_code == 422
    response = _post(client, f"/operator/organisations/{organisation_id}/tokens", {"label": "laptop"})
    token = TOKEN.findall(response.get_data(as_text=True))[0]
    assert response.status_code == 200 and token != first
    assert token not in client.get(f"/operator/organisations/{organisation_id}").get_data(as_text=True)
    credential_id = uuid.UUID(hex=token[3:35])

    page = client.get(f"/operator/credentials/{credential_id}/revoke")
    assert page.status_code == 200 and "laptop" in page.get_data(as_text=True)
    with db_engine.connect() as connection:
        assert authenticate(connection, token) is not None  # asking revokes nothing
    response = client.post(f"/operator/credentials/{credential_id}/revoke",
                           data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == f"/operator/organisations/{organisation_id}"
    with db_engine.connect() as connection:
        assert authenticate(connection, token) is None and authenticate(connection, first) is not None
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[before:]] == [
        ("credential.issued", f"person:{person.id}"), ("credential.revoked", f"person:{person.id}")]
    assert client.get(f"/operator/credentials/{uuid.uuid4()}/revoke").status_code == 404
    assert client.get("/operator/credentials/nonsense/revoke").status_code == 404


def test_revoking_an_organisation_asks_first_and_writes_what_the_cli_writes(app, operator, people, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    member_client, member = people.signed_in("pharmacy")
    organisation_id = member.organisation_id
    page = client.get(f"/operator/organisations/{organisation_id}/revoke")
    assert page.status_code == 200
    assert _organisation(db_engine, "Test pharmacy").revoked_at is None
    before = len(_audit(db_engine))
    response = client.post(f"/operator/organisations/{organisation_id}/revoke",
                           data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/operator/"
    assert _organisation(db_engine, "Test pharmacy").revoked_at is not None
    page_entries = _audit(db_engine)[before:]
    assert [kind for kind, _, _ in page_entries] == ["organisation.revoked", "credential.revoked"]
    assert {actor for _, actor, _ in page_entries} == {f"person:{person.id}"}
    # Its people are signed out.
    assert not is_signed_in(member_client)
    # The CLI's `partners revoke` writes the same.
    other_id, _ = partners.add("pharmacy", "Apotheek Elders", partners.area())
    cli_before = len(_audit(db_engine))
    partners.run("partners", "revoke", other_id)
    assert [kind for kind, _, _ in _audit(db_engine)[cli_before:]] == ["organisation.revoked", "credential.revoked"]
    # Not one's own organisation (every operator would be signed out).
    response = _post(client, f"/operator/organisations/{person.organisation_id}/revoke")
    assert response.status_code == 409 and _organisation(db_engine, "Test operator").revoked_at is None


def test_tracing_is_granted_once_and_withdrawn_after_asking(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek Test", partners.area())
    before = len(_audit(db_engine))
    for _ in range(2):
        response = _post(client, f"/operator/organisations/{pharmacy_id}/tracing")
        assert response.status_code == 302
    assert _organisation(db_engine, "Apotheek Test").tracing_granted_at is not None
    assert "issues verification codes" in client.get("/operator/").get_data(as_text=True)
    page = client.get(f"/operator/organisations/{pharmacy_id}/tracing/withdraw")
    assert page.status_code == 200 and _organisation(db_engine, "Apotheek Test").tracing_granted_at is not None
    client.post(f"/operator/organisations/{pharmacy_id}/tracing/withdraw",
                data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert _organisation(db_engine, "Apotheek Test").tracing_granted_at is None
    entries = _audit(db_engine)[before:]
    assert [(kind, actor) for kind, actor, _ in entries] == [
        ("tracing.granted", f"person:{person.id}"), ("tracing.withdrawn", f"person:{person.id}")]
    assert entries[0][2] == {"organisation_id": str(uuid.UUID(pharmacy_id))}
    # As `safesignal tracing grant` refuses: only pharmacies.
    analyst_id, _ = partners.add("prevention_service", "PS")
    assert _post(client, f"/operator/organisations/{analyst_id}/tracing").status_code == 409
    cli_before = len(_audit(db_engine))
    partners.run("tracing", "grant", pharmacy_id)
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[cli_before:]] == [("tracing.granted", "cli")]


def test_a_territory_is_set_as_the_cli_sets_it(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    municipality = sorted(app.extensions["safesignal"].signals.grids)[0]
    organisation_id, _ = partners.add("prevention_service", "Preventiedienst")
    assert "No territory yet" in client.get(f"/operator/organisations/{organisation_id}").get_data(as_text=True)
    before = len(_audit(db_engine))
    response = _post(client, f"/operator/organisations/{organisation_id}/territory", {})
    assert response.status_code == 422 and "Choose at least one municipality" in response.get_data(as_text=True)
    response = _post(client, f"/operator/organisations/{organisation_id}/territory", {"municipalities": "atlantis"})
    assert response.status_code == 422
    response = _post(client, f"/operator/organisations/{organisation_id}/territory", {"municipalities": municipality})
    assert response.status_code == 302
    entries = _audit(db_engine)[before:]
    assert [(kind, actor, detail["municipalities"]) for kind, actor, detail in entries] == [
        ("signals.territory", f"person:{person.id}", [municipality])]
    assert f"Its analysts see: {municipality}" in client.get(f"/operator/organisations/{organisation_id}").get_data(as_text=True)
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek", partners.area())
    assert _post(client, f"/operator/organisations/{pharmacy_id}/territory", {"municipalities": municipality}).status_code == 409


def test_an_invitation_link_is_shown_once_and_works(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, person = operator
    organisation_id, _ = partners.add("dpo_office", "DPO office")
    before = len(_audit(db_engine))
    response = _post(client, "/operator/people", {"organisation": organisation_id, "email": "Anna.Peeters@Example.be"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-800:]
    tokens = set(LINK.findall(html))
    assert len(tokens) == 1
    token = tokens.pop()
    assert "anna" not in html.lower() and "example.be" not in html.lower()  # the address is not shown back
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[before:]] == [("person.invited", f"person:{person.id}")]
    # The invited person opens the link in their own browser.
    assert app.test_client().get(f"/invitation/{token}").status_code == 200
    listing = client.get("/operator/people").get_data(as_text=True)
    assert token not in listing and "anna" not in listing.lower() and "Invited" in listing
    assert token not in client.get(f"/operator/organisations/{organisation_id}").get_data(as_text=True)


def test_the_invitation_is_emailed_where_smtp_is_set_and_shown_all_the_same(app_with, db_engine):  # type: ignore[no-untyped-def]
    with smtp_server() as (controller, inbox):
        application = app_with(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=False)
        partners = Partners(application)
        client, _ = People(application, partners).signed_in("admin", email="operator1@example.org")
        organisation_id, _ = partners.add("dpo_office", "DPO office")
        response = _post(client, "/operator/people", {"organisation": organisation_id, "email": "anna@example.be"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "e-mailed to the address given" in html and "anna@" not in html
    ((recipients, message),) = inbox.received
    token = LINK.search(html).group(1)
    assert recipients == ["anna@example.be"] and f"/invitation/{token}" in message.get_content()

    # Nobody listening: the invitation stands, its link is on the page, and the page says so.
    application = app_with(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)
    partners = Partners(application)
    client, _ = People(application, partners).signed_in("admin", email="operator2@example.org")
    response = _post(client, "/operator/people", {"organisation": organisation_id, "email": "bert@example.be"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "could not be sent" in html and LINK.search(html)
    assert "bert@" not in html


@pytest.mark.parametrize("data, message", [
    ({"organisation": "", "email": "a@example.be"}, "Choose the person"),
    ({"organisation": "not-an-id", "email": "a@example.be"}, "Choose an organisation that is not revoked"),
    ({"organisation": "ORG", "email": ""}, "Give the person"),
    ({"organisation": "ORG", "email": "not an address"}, "This is not an e-mail address"),
    ({"organisation": "ORG", "email": "a\x00b@example.be"}, "Use letters, digits"),
    ({"organisation": "ORG", "email": "taken@example.be"}, "already has an account"),
    ({"organisation": "REVOKED", "email": "b@example.be"}, "Choose an organisation that is not revoked"),
])
def test_invitation_field_errors_invite_nobody(app, operator, people, partners, db_engine, data, message):  # type: ignore[no-untyped-def]
    client, _ = operator
    organisation_id, _ = partners.add("dpo_office", "DPO office")
    people.create("dpo", organisation_id=organisation_id, email="taken@example.be")
    revoked_id, _ = partners.add("dpo_office", "Old DPO office")
    partners.run("partners", "revoke", revoked_id)
    data = {key: value.replace("REVOKED", revoked_id).replace("ORG", organisation_id) for key, value in data.items()}
    persons, entries = _count(db_engine, Person), len(_audit(db_engine))
    response = _post(client, "/operator/people", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html[-1500:]
    assert not LINK.search(html)
    assert _count(db_engine, Person) == persons and len(_audit(db_engine)) == entries


def test_revoking_a_person_asks_first_and_signs_them_out(app, operator, people, db_engine):  # type: ignore[no-untyped-def]
    client, me = operator
    other_client, other = people.signed_in("analyst")
    listing = client.get("/operator/people").get_data(as_text=True)
    assert "Active" in listing and other.email not in listing
    page = client.get(f"/operator/people/{other.id}/revoke")
    assert page.status_code == 200 and is_signed_in(other_client)  # asking revokes nothing
    before = len(_audit(db_engine))
    response = client.post(f"/operator/people/{other.id}/revoke", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.headers["Location"] == "/operator/people"
    assert not is_signed_in(other_client)
    assert [(kind, actor) for kind, actor, _ in _audit(db_engine)[before:]] == [("person.revoked", f"person:{me.id}")]
    assert "Revoked" in client.get("/operator/people").get_data(as_text=True)
    # Not oneself; not someone who does not exist.
    assert _post(client, f"/operator/people/{me.id}/revoke").status_code == 409
    assert client.get(f"/operator/people/{uuid.uuid4()}/revoke").status_code == 404


def test_posts_without_their_csrf_token_are_refused(app, operator, partners, db_engine):  # type: ignore[no-untyped-def]
    client, me = operator
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek", partners.area())
    analyst_id, _ = partners.add("prevention_service", "PS")
    with db_engine.connect() as connection:
        credential_id = connection.execute(select(Credential.id).where(Credential.organisation_id == uuid.UUID(pharmacy_id))).scalar_one()
    entries = len(_audit(db_engine))
    for path, data in (
        ("/operator/organisations", {"kind": "dpo_office", "name": "Forged", "label": "x"}),
        (f"/operator/organisations/{pharmacy_id}/tokens", {"label": "x"}),
        (f"/operator/organisations/{pharmacy_id}/tracing", {}),
        (f"/operator/organisations/{pharmacy_id}/tracing/withdraw", {}),
        (f"/operator/organisations/{pharmacy_id}/revoke", {}),
        (f"/operator/organisations/{analyst_id}/territory", {"municipalities": sorted(app.extensions["safesignal"].signals.grids)[0]}),
        (f"/operator/credentials/{credential_id}/revoke", {}),
        ("/operator/people", {"organisation": pharmacy_id, "email": "forged@example.be"}),
        (f"/operator/people/{me.id}/revoke", {}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400 and response.mimetype == "text/html", path
    assert len(_audit(db_engine)) == entries and _organisation(db_engine, "Apotheek").revoked_at is None


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_get_403(app, people, partners, db_engine, role):  # type: ignore[no-untyped-def]
    pharmacy_id, _ = partners.add("pharmacy", "Apotheek", partners.area())
    client, person = people.signed_in(role)
    token = csrf_token(client.get("/operator/").get_data(as_text=True))
    for path in ("/operator/", "/operator/people", f"/operator/organisations/{pharmacy_id}",
                 f"/operator/organisations/{pharmacy_id}/revoke", f"/operator/people/{person.id}/revoke"):
        assert client.get(path).status_code == 403, path
    entries = len(_audit(db_engine))
    for path, data in (("/operator/organisations", {"kind": "dpo_office", "name": "X", "label": "x"}),
                       (f"/operator/organisations/{pharmacy_id}/tokens", {"label": "x"}),
                       (f"/operator/organisations/{pharmacy_id}/tracing", {}),
                       (f"/operator/organisations/{pharmacy_id}/revoke", {}),
                       ("/operator/people", {"organisation": pharmacy_id, "email": "x@example.be"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert len(_audit(db_engine)) == entries and _organisation(db_engine, "Apotheek").tracing_granted_at is None


def test_nobody_is_sent_to_sign_in(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    for path in ("/operator/", "/operator/people", f"/operator/organisations/{uuid.uuid4()}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == f"/sign-in?next={path}"
