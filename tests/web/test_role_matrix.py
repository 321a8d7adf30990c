"""The role x page matrix: every page with every role and with nobody.

PAGES is the one table of who may open what. A page route missing from it fails the first test, so
a new page cannot ship without saying who it is for. Nobody signed in is sent to sign in; a role
the page is not for gets 403 and nothing of the page; the roles it is for get it. Posts are tried
too: with the right CSRF token but the wrong role (403, nothing done), and with hostile fields as
the right role (never a 5xx).
"""

from __future__ import annotations

import re

import pytest

from service.web.pages import PageBlueprint
from support import csrf_token

ROLES = ("pharmacy", "coordinator", "analyst", "dpo", "admin")
EVERYONE = frozenset(ROLES)

# endpoint -> the roles that may open it. Public endpoints (None) need no sign-in.
PAGES: dict[str, frozenset[str] | None] = {
    "web.home": None,
    "web.sign_in": None,
    "web.second_factor": None,
    "web.sign_out": None,
    "web.choose_language": None,
    "web.invitation": None,
    "web.confirm_invitation": None,
    "web.static": None,
    "counter.report": frozenset({"pharmacy"}),
    "counter.report_sent": frozenset({"pharmacy"}),
    "counter.code": frozenset({"pharmacy"}),
    "counter.code_sms": frozenset({"pharmacy"}),
    "counter.static": None,
    **{f"dashboard.{name}": frozenset({"analyst"}) for name in (
        "calendar", "open_week", "week", "counts_csv", "alerts", "open_alerts", "series")},
    "dashboard.static": None,
    **{f"notices.{name}": frozenset({"analyst"}) for name in ("index", "add", "delete")},
    "console.overview": frozenset({"dpo"}),
    "console.runs": frozenset({"dpo"}),
    "console.inventory": frozenset({"dpo"}),
    "console.processing_record": frozenset({"dpo"}),
    "console.audit": frozenset({"dpo"}),
    "console.audit_entries": frozenset({"dpo"}),
    "console.audit_checkpoints": frozenset({"dpo"}),
    "console.static": None,
    "coordinator.index": frozenset({"coordinator"}),
    "coordinator.new_code": frozenset({"coordinator"}),
    "coordinator.revoke_device": frozenset({"coordinator"}),
    "coordinator.static": None,
    "operator.organisations": frozenset({"admin"}),
    "operator.add_organisation": frozenset({"admin"}),
    "operator.organisation": frozenset({"admin"}),
    "operator.issue_token": frozenset({"admin"}),
    "operator.set_organisation_territory": frozenset({"admin"}),
    "operator.grant_tracing": frozenset({"admin"}),
    "operator.withdraw_tracing": frozenset({"admin"}),
    "operator.revoke_organisation": frozenset({"admin"}),
    "operator.revoke_credential": frozenset({"admin"}),
    "operator.people": frozenset({"admin"}),
    "operator.invite": frozenset({"admin"}),
    "operator.revoke_person": frozenset({"admin"}),
    "operator.sms": frozenset({"admin"}),
    "operator.static": None,
}
# Values for the URL parameters of the table's routes (a week, an id ...), where a page has them.
ARGUMENTS: dict[str, dict[str, str]] = {
    # counts_csv is left out: for a week not opened it sends the analyst back to the week's page
    # (303), never a 200; tests/web/test_dashboard.py holds its roles.
    **{f"dashboard.{name}": {"week": "2026-W48"} for name in ("open_week", "week", "alerts", "open_alerts")},
}


def _page_rules(app):  # type: ignore[no-untyped-def]
    pages = {name for name, blueprint in app.blueprints.items() if isinstance(blueprint, PageBlueprint)}
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".", 1)[0] in pages]


def _path(app, rule) -> str | None:  # type: ignore[no-untyped-def]
    values = {**ARGUMENTS.get(rule.endpoint, {})}
    if set(rule.arguments) - set(values):
        return None
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_every_page_says_who_it_is_for(app):  # type: ignore[no-untyped-def]
    endpoints = {rule.endpoint for rule in _page_rules(app)}
    assert endpoints - set(PAGES) == set(), "pages missing from the matrix"
    assert set(PAGES) - endpoints == set(), "the matrix names pages that do not exist"


def _guarded(app):  # type: ignore[no-untyped-def]
    for rule in _page_rules(app):
        roles = PAGES.get(rule.endpoint)
        path = _path(app, rule)
        if roles is None or path is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path, roles


def test_nobody_is_sent_to_sign_in(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    for endpoint, method, path, _ in _guarded(app):
        if method == "GET":
            response = client.get(path)
            assert response.status_code == 302, endpoint
            assert response.headers["Location"].startswith("/sign-in?next="), endpoint
        else:
            token = csrf_token(client.get("/sign-in").get_data(as_text=True))
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), endpoint


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_only_its_pages(app, people, role):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in(role)
    for endpoint, method, path, roles in _guarded(app):
        if method == "GET":
            response = client.get(path)
            if role in roles:
                # The page, or where it sends its person (the confirmation without a report sent
                # goes back to the form), never to sign in again.
                assert response.status_code in (200, 303), (endpoint, response.status_code)
                assert "/sign-in" not in response.headers.get("Location", ""), endpoint
            else:
                assert response.status_code == 403, (endpoint, role, response.status_code)
                assert response.mimetype == "text/html"
        elif role not in roles:
            token = _token_of(client)
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (endpoint, role, response.status_code)


def _token_of(client) -> str:  # type: ignore[no-untyped-def]
    # The header's language form is on every page a signed-in person opens.
    page = client.get("/no-such-page").get_data(as_text=True)
    return csrf_token(page)


HOSTILE = ["", "x" * 100_000, "\x00", "<script>alert(1)</script>", "../../etc/passwd", "9" * 400, "-1", "2026-02-30",
           "\ud800", "é" * 5000]


@pytest.mark.parametrize("role", ROLES)
def test_hostile_fields_never_break_a_page(app, people, role):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in(role)
    for endpoint, method, path, roles in _guarded(app):
        if method != "POST" or role not in roles:
            continue
        form_page = client.get(path.rsplit("/", 1)[0] or "/")
        names = set(re.findall(r'name="([a-z_]+)"', form_page.get_data(as_text=True))) - {"csrf_token"} or {"value"}
        for value in HOSTILE:
            token = _token_of(client)
            data = {name: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for name in names}
            response = client.post(path, data={**data, "csrf_token": token})
            assert response.status_code < 500, (endpoint, value[:20])


def test_hostile_fields_never_break_the_public_pages(app, partners):  # type: ignore[no-untyped-def]
    import uuid

    from service.people import services

    organisation_id, _ = partners.add("dpo_office", "Office")
    state = app.extensions["safesignal"]
    with state.sessions() as session:
        _, invitation = services.invite(session, state.accounts, organisation_id=uuid.UUID(organisation_id),
                                        email="someone@example.org", now=state.clock())
        session.commit()
    client = app.test_client()
    forms = {"/sign-in": ("email", "password", "next"), "/language": ("language", "next"),
             f"/invitation/{invitation}": ("password", "confirm"), f"/invitation/{invitation}/confirm": ("code",),
             "/sign-in/code": ("code",), "/invitation/" + "A" * 5000: ("password", "confirm")}
    for path, names in forms.items():
        for value in HOSTILE:
            token = csrf_token(client.get("/sign-in").get_data(as_text=True))
            data = {name: value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for name in names}
            response = client.post(path, data={**data, "csrf_token": token})
            assert response.status_code < 500, (path[:30], value[:20])
            # A password or a code typed is never sent back (an address typed is, to correct it).
            if len(value) > 3 and "email" not in names:
                assert value not in response.get_data(as_text=True), (path[:30], value[:20])
