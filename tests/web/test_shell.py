"""The site's shell through real HTTP on the app: sign-in with two factors, sessions, CSRF,
headers, language, error pages. (The same in a real browser: tests/browser.)"""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from service.people.models import WebSession
from support import PASSWORD, csrf_token, is_signed_in


def _sign_in_page(client) -> str:  # type: ignore[no-untyped-def]
    return csrf_token(client.get("/sign-in").get_data(as_text=True))


def test_a_person_signs_in_with_password_and_code_and_lands_on_a_page(app, people, clock):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("pharmacy")
    assert is_signed_in(client)
    with app.extensions["safesignal"].engine.connect() as connection:
        entries = connection.execute(select(WebSession.__table__)).all()
    assert len(entries) == 1
    # The cookie holds no session id in clear in the database: only its hash.
    cookie = client.get_cookie("__Host-safesignal")
    assert cookie is not None and cookie.secure and cookie.http_only and cookie.same_site == "Strict"


def test_sign_in_failures_say_the_same_whatever_failed(app, people, clock):  # type: ignore[no-untyped-def]
    person = people.create("analyst")
    client = app.test_client()
    answers = []
    for email, password in ((person.email, "wrong password here"), ("nobody@example.org", PASSWORD)):
        response = client.post("/sign-in", data={"csrf_token": _sign_in_page(client), "email": email, "password": password})
        answers.append(re.sub(r'value="[^"]*"', "", response.get_data(as_text=True)))
        assert response.status_code == 200
    assert answers[0] == answers[1]
    assert "Sign-in failed" in answers[0]


def test_a_wrong_code_fails_and_is_audited_and_a_used_code_is_refused(app, people, clock):  # type: ignore[no-untyped-def]
    person = people.create("dpo")
    client = app.test_client()
    client.post("/sign-in", data={"csrf_token": _sign_in_page(client), "email": person.email, "password": person.password})
    token = csrf_token(client.get("/sign-in/code").get_data(as_text=True))
    wrong = f"{(int(person.code(clock())) + 1) % 1000000:06d}"
    response = client.post("/sign-in/code", data={"csrf_token": token, "code": wrong})
    assert response.status_code == 200 and "Sign-in failed" in response.get_data(as_text=True)
    with app.extensions["safesignal"].engine.connect() as connection:
        kinds = [row.kind for row in connection.exec_driver_sql("SELECT kind FROM audit_entry ORDER BY seq")]
    assert "person.second_factor_failed" in kinds
    response = client.post("/sign-in/code", data={"csrf_token": token, "code": person.code(clock())})
    assert response.status_code == 302
    # The same code again, from another browser: refused (replay).
    other = app.test_client()
    other.post("/sign-in", data={"csrf_token": _sign_in_page(other), "email": person.email, "password": person.password})
    page = other.get("/sign-in/code").get_data(as_text=True)
    response = other.post("/sign-in/code", data={"csrf_token": csrf_token(page), "code": person.code(clock())})
    assert response.status_code == 200


def test_a_post_without_its_csrf_token_is_refused(app, people):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("pharmacy")
    response = client.post("/sign-out")
    assert response.status_code == 400 and response.mimetype == "text/html"
    # Still signed in: the forged sign-out did nothing.
    assert is_signed_in(client)
    response = client.post("/language", data={"language": "fr"})
    assert response.status_code == 400


def test_a_session_ends_after_idle_time_and_after_its_lifetime(app, people, clock):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("analyst")
    clock.advance(minutes=29, seconds=59)
    assert is_signed_in(client)
    clock.advance(minutes=30)
    assert not is_signed_in(client)
    client, _ = people.signed_in("analyst")
    for _ in range(24):
        clock.advance(minutes=29)
        assert is_signed_in(client)
    clock.advance(minutes=29)
    assert not is_signed_in(client)


def test_revoking_a_person_signs_them_out_everywhere(app, people, partners, clock):  # type: ignore[no-untyped-def]
    from service.people import services

    first, person = people.signed_in("coordinator")
    clock.advance(seconds=30)  # the next code: a code signs in once
    second = app.test_client()
    people.sign_in(second, person)
    state = app.extensions["safesignal"]
    with state.sessions() as session:
        import uuid

        services.revoke(session, uuid.UUID(person.id), state.clock())
        session.commit()
    for client in (first, second):
        assert not is_signed_in(client)


def test_pages_carry_a_strict_policy_and_are_never_cached(app):  # type: ignore[no-untyped-def]
    response = app.test_client().get("/sign-in")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in response.get_data(as_text=True) and " style=" not in response.get_data(as_text=True)


def test_the_language_follows_the_browser_then_the_choice(app, people):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert '<html lang="de">' in client.get("/sign-in", headers={"Accept-Language": "de-BE,de;q=0.9"}).get_data(as_text=True)
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/language", data={"csrf_token": csrf_token(page), "language": "nl", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert '<html lang="nl">' in client.get("/sign-in", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_pages_answer_errors_in_html_and_the_api_in_json(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert page.status_code == 404 and page.mimetype == "text/html" and "Page not found" in page.get_data(as_text=True)
    api = client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["code"] == 404


def test_an_invitation_makes_an_account_with_a_second_factor(app, partners, clock):  # type: ignore[no-untyped-def]
    import uuid

    from service.people import services

    organisation_id, _ = partners.add("dpo_office", "DPO office")
    state = app.extensions["safesignal"]
    with state.sessions() as session:
        _, token = services.invite(session, state.accounts, organisation_id=uuid.UUID(organisation_id),
                                   email="dpo@example.org", now=clock())
        session.commit()
    client = app.test_client()
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    response = client.post(f"/invitation/{token}", data={"csrf_token": csrf_token(page), "password": "short", "confirm": "short"})
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    response = client.post(f"/invitation/{token}", data={"csrf_token": csrf_token(page), "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    clock.advance(seconds=31)
    response = client.post(f"/invitation/{token}/confirm", data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).at(clock())})
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    # Used up: the link no longer works.
    assert client.get(f"/invitation/{token}").status_code == 404
