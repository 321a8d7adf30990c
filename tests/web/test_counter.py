"""The pharmacy counter's pages through real HTTP on the app: a report in one click, stored exactly as
the API stores it; what the confirmation says (and never shows); verification codes under the API's
grant and quota; the role x page matrix; refused forms."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from support import People, Partners, bearer, csrf_token

from service.reports.models import Report
from service.reports.services import read_payload
from service.signals.models import Tally
from service.tracing.models import CodeQuota, VerificationCode

PHONE = "0470 12 34 56"
NOTE = f"Bel haar zus terug op {PHONE} na de middag"
_CLIENT_ID = re.compile(r'name="client_id" type="hidden" value="([^"]+)"')
_NONCE = re.compile(r'name="nonce" type="hidden" value="([^"]+)"')
_CATEGORY_BUTTON = re.compile(r'<button type="submit" name="category" value="([a-z0-9_]+)"')
_CODE = re.compile(r'<p class="code">.*?</p>', re.S)

PAGES = [("GET", "/counter/"), ("POST", "/counter/"), ("GET", "/counter/sent"), ("GET", "/counter/code"),
         ("POST", "/counter/code")]


def _form(client, path: str = "/counter/") -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The page's HTML and the hidden fields its form posts back."""
    html = client.get(path).get_data(as_text=True)
    fields = {"csrf_token": csrf_token(html)}
    for name, pattern in (("client_id", _CLIENT_ID), ("nonce", _NONCE)):
        found = pattern.search(html)
        if found:
            fields[name] = found.group(1)
    return html, fields


def _send(client, **data: str):  # type: ignore[no-untyped-def]
    _, fields = _form(client)
    return client.post("/counter/", data={**fields, **data})


def _reports(app) -> list[Report]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return list(session.scalars(select(Report).order_by(Report.observed_hour)))


def _tallies(app) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].sessions() as session:
        return [tuple(row) for row in session.execute(
            select(Tally.week, Tally.area, Tally.category, Tally.reporter, func.sum(Tally.n))
            .group_by(Tally.week, Tally.area, Tally.category, Tally.reporter))]


def _audit_kinds(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.extensions["safesignal"].engine.connect() as connection:
        return [row.kind for row in connection.exec_driver_sql("SELECT kind FROM audit_entry ORDER BY seq")]


def _pharmacy(people, partners, language: str | None = None):  # type: ignore[no-untyped-def]
    """A signed-in person of a pharmacy, and that pharmacy's API token."""
    organisation_id, token = partners.add("pharmacy", "Apotheek De Linde", partners.area())
    person = people.create("pharmacy", organisation_id=organisation_id, language=language)
    client = people.app.test_client()
    people.sign_in(client, person)
    return client, person, token


# Reports -----------------------------------------------------------------------------------------


def test_masker_19_is_the_first_button_and_it_has_focus(people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy", language="nl")
    response = client.get("/counter/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    buttons = _CATEGORY_BUTTON.findall(html)
    assert buttons[0] == "dv_mask19"
    first = html[html.index('value="dv_mask19"'):]
    assert first.split(">", 1)[0].endswith("autofocus") and "Masker 19" in first[:400]
    # The other pharmacy categories are one step away; a field-only category is not offered.
    assert "harm_reduction_naloxone" in buttons and "housing_need" in buttons and "neighbourhood_dispute" not in buttons
    assert len(buttons) == len(set(buttons))
    assert '<details class="more">' in html and '<details class="optional">' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_a_report_from_the_page_is_stored_exactly_as_the_api_stores_it(app, people, partners, clock):  # type: ignore[no-untyped-def]
    client, _, token = _pharmacy(people, partners)
    response = _send(client, category="dv_mask19")
    assert response.status_code == 303 and response.headers["Location"] == "/counter/sent"
    api = client.post("/v1/pharmacy/reports", headers=bearer(token),
                      json={"category": "dv_mask19", "observed_at": clock.now.isoformat()})
    assert api.status_code == 201
    page_report, api_report = _reports(app)
    columns = ("data_class", "channel", "category", "area", "observed_hour", "received_hour", "epoch", "reporter")
    assert [getattr(page_report, name) for name in columns] == [getattr(api_report, name) for name in columns]
    assert page_report.area == partners.area()
    intake = app.extensions["safesignal"].intake
    assert read_payload(intake, page_report) == read_payload(intake, api_report)
    # One pharmacy, one reporter: the tally counts both reports in one cell, under one pseudonym.
    ((week, area, category, reporter, n),) = _tallies(app)
    assert (area, category, reporter, n) == (partners.area(), "dv_mask19", page_report.reporter, 2)


def test_the_optional_details_are_stored_and_the_time_is_earlier_today(app, people, partners, clock):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy")
    # 09:40 in Brussels is 08:40 UTC on 29 November (the clock: 10:17 UTC).
    response = _send(client, category="elderly_isolation", referral="ocmw_cpas", observed_time="09:40", note="vroeg naar het OCMW")
    assert response.status_code == 303
    (report,) = _reports(app)
    assert report.observed_hour == dt.datetime(2026, 11, 29, 8, tzinfo=dt.timezone.utc)
    payload = read_payload(app.extensions["safesignal"].intake, report)
    assert (payload.referral, payload.referral_kind, payload.note) == (True, "ocmw_cpas", "vroeg naar het OCMW")
    sent = client.get("/counter/sent").get_data(as_text=True)
    assert "no personal data was found" in sent and "OCMW" not in sent.split("<main", 1)[1]


def test_the_phone_number_is_removed_and_the_confirmation_says_so_without_the_note(app, people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy")
    response = _send(client, category="dv_mask19", note=NOTE)
    assert response.status_code == 303
    assert NOTE not in response.headers["Location"] and "dv_mask19" not in response.headers["Location"]
    (report,) = _reports(app)
    assert read_payload(app.extensions["safesignal"].intake, report).note == "Bel haar zus terug op [phone] na de middag"
    page = client.get("/counter/sent")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "A phone number was removed." in html and "Masker 19" in html
    for piece in (PHONE, PHONE.replace(" ", ""), "Bel haar zus", "[phone]"):
        assert piece not in html
    # Shown once: a reload (or the history) goes back to an empty form.
    again = client.get("/counter/sent")
    assert again.status_code == 303 and again.headers["Location"] == "/counter/"
    form = client.get("/counter/").get_data(as_text=True)
    assert "Bel haar zus" not in form and PHONE not in form


def test_what_was_removed_is_counted_by_kind_in_the_persons_language(app, people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy", language="fr")
    _send(client, category="street_harassment", note="GSM 0470 12 34 56 ou 02 512 34 56, mail jan@example.be")
    html = client.get("/counter/sent").get_data(as_text=True)
    assert "2 numéros de téléphone ont été supprimés." in html and "Une adresse e-mail a été supprimée." in html
    assert "jan@example.be" not in html and "512 34 56" not in html


def test_a_form_sent_twice_stores_one_report(app, people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy")
    _, fields = _form(client)
    first = client.post("/counter/", data={**fields, "category": "dv_mask19"})
    second = client.post("/counter/", data={**fields, "category": "dv_mask19"})  # a double click
    assert first.status_code == second.status_code == 303
    assert len(_reports(app)) == 1
    # The same form reused for another category: refused, nothing new stored.
    third = client.post("/counter/", data={**fields, "category": "loneliness"})
    assert third.status_code == 422 and "already used" in third.get_data(as_text=True)
    assert len(_reports(app)) == 1


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"category": "dv_mask19", "observed_time": "23:59"}, "observed_time", "Deze tijd ligt later dan nu"),
    ({"category": "dv_mask19", "observed_time": "25:99"}, "observed_time", None),
    ({"category": "neighbourhood_dispute"}, "category", "Kies een van de getoonde categorieën"),
    ({"category": "dv_mask19", "referral": "no_such_service"}, "referral", "Kies een doorverwijzing uit de lijst"),
    ({"category": "dv_mask19", "note": "x" * 501}, "note", "te lang"),
])
def test_bad_fields_are_refused_next_to_the_field_in_the_persons_language(app, people, data, field, message):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy", language="nl")
    response = _send(client, **data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html or (field == "category" and 'id="category-error"' in html)
    if message:
        assert message in html
    assert _reports(app) == []


def test_a_note_with_personal_data_is_refused_where_the_deployment_does_not_redact(app_with, people, clock):  # type: ignore[no-untyped-def]
    strict = app_with(FREE_TEXT_POLICY="reject")
    strict_people = People(strict, Partners(strict))
    person = strict_people.create("pharmacy", language="de")
    client = strict.test_client()
    strict_people.sign_in(client, person)
    response = _send(client, category="dv_mask19", note=NOTE)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="note-error"' in html and "Telefonnummer" in html
    assert _reports(strict) == []


def test_a_post_without_its_csrf_token_is_refused_and_stores_nothing(app, people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy")
    _, fields = _form(client)
    response = client.post("/counter/", data={"client_id": fields["client_id"], "category": "dv_mask19"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert _reports(app) == []
    response = client.post("/counter/code", data={"kind": "test", "day": "2026-11-28"})
    assert response.status_code == 400


def test_german_labels_the_taxonomy_lacks_are_marked_with_their_language(people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy", language="de")
    html = client.get("/counter/").get_data(as_text=True)
    assert '<html lang="de">' in html and "Maske 19" in html
    assert '<span lang="fr">Signal de violence intrafamiliale' in html


# Verification codes ------------------------------------------------------------------------------


def _issue(client, **data: str):  # type: ignore[no-untyped-def]
    _, fields = _form(client, "/counter/code")
    return client.post("/counter/code", data={**fields, "kind": "test", "day": "2026-11-28", **data})


def test_without_a_grant_the_page_says_so_and_issues_nothing(app, people, partners):  # type: ignore[no-untyped-def]
    client, _, token = _pharmacy(people, partners)
    page = client.get("/counter/code")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "may not issue verification codes" in html and 'name="day"' not in html
    # As the API answers: 403, nothing issued, no quota spent.
    assert client.post("/v1/tracing/codes", json={"test_date": "2026-11-28"}, headers=bearer(token)).status_code == 403
    csrf = csrf_token(html)
    response = client.post("/counter/code", data={"csrf_token": csrf, "kind": "test", "day": "2026-11-28", "nonce": "x" * 22})
    assert response.status_code == 403 and "may not issue verification codes" in response.get_data(as_text=True)
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 0
        assert session.scalar(select(func.count()).select_from(CodeQuota)) == 0


def test_a_granted_pharmacy_gets_a_working_code_shown_once_and_the_quota_goes_down(app, people, partners, clock):  # type: ignore[no-untyped-def]
    client, person, token = _pharmacy(people, partners)
    partners.run("tracing", "grant", person.organisation_id)
    before = _audit_kinds(app)
    assert "Codes left today: 100 of 100." in client.get("/counter/code").get_data(as_text=True)
    _, fields = _form(client, "/counter/code")
    response = client.post("/counter/code", data={**fields, "kind": "symptoms", "day": "2026-11-26"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    groups = re.findall(r'<span class="group">(\d{4})</span>', _CODE.search(html).group(0))  # type: ignore[union-attr]
    assert len(groups) == 3
    code = "".join(groups)
    assert "<svg" in html and "99 of 100" in html and "12:17" in html  # valid 60 minutes: 11:17 UTC, 12:17 in Brussels
    # Shown once: the same form again issues nothing and shows no code.
    again = client.post("/counter/code", data={**fields, "kind": "symptoms", "day": "2026-11-26"})
    assert again.status_code == 409 and code not in again.get_data(as_text=True) and _CODE.search(again.get_data(as_text=True)) is None
    assert code not in client.get("/counter/code").get_data(as_text=True)
    # The API spends the same quota.
    assert client.post("/v1/tracing/codes", json={"test_date": "2026-11-28"}, headers=bearer(token)).status_code == 201
    assert "Codes left today: 98 of 100." in client.get("/counter/code").get_data(as_text=True)
    # A real code: the app redeems it once, with the onset the pharmacy entered.
    redeemed = client.post("/v1/tracing/verify", json={"code": code}, headers={"SafeSignal-Fake": "0"})
    assert redeemed.status_code == 200
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 1  # the API's, not yet redeemed
    # The API writes no audit entry for a code; neither does the page.
    assert _audit_kinds(app) == before


def test_past_the_quota_the_page_says_so_and_issues_nothing(app_with, clock):  # type: ignore[no-untyped-def]
    small = app_with(TRACING_CODES_PER_DAY=1)
    small_partners = Partners(small)
    small_people = People(small, small_partners)
    person = small_people.create("pharmacy")
    small_partners.run("tracing", "grant", person.organisation_id)
    client = small.test_client()
    small_people.sign_in(client, person)
    _, second_tab = _form(client, "/counter/code")  # a form left open in another tab
    assert _issue(client).status_code == 200
    page = client.get("/counter/code").get_data(as_text=True)
    assert "Codes left today: 0 of 1." in page and 'name="day"' not in page
    response = client.post("/counter/code", data={**second_tab, "kind": "test", "day": "2026-11-28"})
    assert response.status_code == 429 and "all its codes for today" in response.get_data(as_text=True)
    with small.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 1
        assert session.scalar(select(CodeQuota.issued)) == 1
    # The next UTC day, the quota is back.
    clock.advance(days=1)
    small_people.sign_in(client := small.test_client(), person)
    assert "Codes left today: 1 of 1." in client.get("/counter/code").get_data(as_text=True)


@pytest.mark.parametrize(("day", "message"), [
    ("2026-12-01", "Deze datum ligt in de toekomst."),
    ("2026-11-14", "meer dan 14 dagen terug"),
    ("not a date", None),
    ("", "Vul een datum in."),
])
def test_bad_dates_are_refused_next_to_the_field_in_the_persons_language(app, people, partners, day, message):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("pharmacy", language="nl")
    partners.run("tracing", "grant", person.organisation_id)
    response = _issue(client, day=day)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="day-error"' in html and 'aria-invalid="true"' in html
    if message:
        assert message in html
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 0
        assert (session.scalar(select(CodeQuota.issued)) or 0) == 0


def test_a_tampered_onset_kind_is_refused_not_a_500(app, people, partners):  # type: ignore[no-untyped-def]
    client, person = people.signed_in("pharmacy")
    partners.run("tracing", "grant", person.organisation_id)
    response = _issue(client, kind="tomorrow")
    assert response.status_code == 422
    with app.extensions["safesignal"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 0


# Who may see the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "analyst", "dpo", "admin"])
def test_other_roles_get_403_on_every_counter_page(app, people, role):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in(role)
    token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
    for method, path in PAGES:
        response = client.open(path, method=method, data={"csrf_token": token, "category": "dv_mask19"} if method == "POST" else None)
        assert response.status_code == 403, (role, method, path)
        assert "Masker 19" not in response.get_data(as_text=True)
    assert _reports(app) == []


def test_nobody_signed_in_is_sent_to_sign_in(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    for method, path in PAGES:
        response = client.open(path, method=method)
        if method == "GET":
            assert response.status_code == 302 and response.headers["Location"] == f"/sign-in?next={path}", path
        else:
            assert response.status_code == 400  # no session, no CSRF token: refused before anything
    assert _reports(app) == []


def test_a_pharmacy_lands_on_the_report_page_and_sees_both_entries(people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("pharmacy")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/counter/"
    html = client.get("/counter/").get_data(as_text=True)
    assert 'href="/counter/" aria-current="page">Report<' in html and 'href="/counter/code">Verification code<' in html
