"""The notices page (/dashboard/notices) through the real pages: what subscribing spends, adding
and deleting a subscription, and the number or address never shown back."""

from __future__ import annotations

import datetime as dt
import re

from notices_support import seed
from support import csrf_token

from service.notices.services import newest_released_week

NUMBER = "0478 65 43 21"


def _analyst(app, partners, people, language: str | None = None):  # type: ignore[no-untyped-def]
    output = partners.run("partners", "add", "--kind", "prevention_service", "--name", "Preventiedienst Noord",
                          "--municipality", "north")
    person = people.create("analyst", organisation_id=output.split()[1], language=language)
    client = app.test_client()
    people.sign_in(client, person)
    return client


def _add(client, medium: str, contact: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/dashboard/notices/").get_data(as_text=True))
    return client.post("/dashboard/notices/", data={"csrf_token": token, "medium": medium, "contact": contact})


def test_the_page_says_what_subscribing_spends(app, partners, people):
    state = app.extensions["safesignal"]
    newest = newest_released_week(state, state.clock())
    seed(state, [newest - dt.timedelta(days=7 * back) for back in range(9, -1, -1)], [20] * 10)
    client = _analyst(app, partners, people)
    page = client.get("/dashboard/notices/").get_data(as_text=True)
    assert "each new week costs ε 50.0 once, of the 1,000.0 of its quarter" in page
    # The newest week and its seven baseline weeks, none opened yet.
    assert "today that would be 8 weeks, ε 400.0 in all" in page
    assert "<script" not in page and "style=" not in page  # CSP: nothing inline


def test_add_list_and_delete_never_show_the_contact(app, partners, people):
    client = _analyst(app, partners, people)
    response = _add(client, "sms", NUMBER)
    assert response.status_code == 303
    page = client.get("/dashboard/notices/").get_data(as_text=True)
    # The number in any spelling (a random subscription id may hold "478": the digits alone prove nothing).
    assert "By SMS" in page and not any(spelling in page for spelling in ("0478", "32478", "478654321", "65 43 21"))
    assert _add(client, "email", "preventie@noord.example.be").status_code == 303
    page = client.get("/dashboard/notices/").get_data(as_text=True)
    assert "By e-mail" in page and "preventie" not in page

    deletes = re.findall(r'href="(/dashboard/notices/[0-9a-f-]{36}/delete)"', page)
    assert len(deletes) == 2
    confirm = client.get(deletes[0])
    assert confirm.status_code == 200 and "Delete this subscription?" in confirm.get_data(as_text=True)
    gone = client.post(deletes[0], data={"csrf_token": csrf_token(confirm.get_data(as_text=True))})
    assert gone.status_code == 303
    page = client.get("/dashboard/notices/").get_data(as_text=True)
    assert len(re.findall(r'/dashboard/notices/[0-9a-f-]{36}/delete', page)) == 1

    # Another organisation's analyst cannot see or delete it.
    other = _analyst(app, partners, people)
    assert other.get(deletes[1]).status_code == 404
    assert other.post(deletes[1], data={"csrf_token": csrf_token(other.get("/dashboard/notices/").get_data(as_text=True))}).status_code == 404
    assert len(re.findall(r'/dashboard/notices/[0-9a-f-]{36}/delete', client.get("/dashboard/notices/").get_data(as_text=True))) == 1


def test_a_bad_number_is_refused_without_showing_it_back(app, partners, people):
    client = _analyst(app, partners, people)
    response = _add(client, "sms", "015 12 34 56")  # a landline
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not a mobile number a text can go to." in page and "015 12 34 56" not in page
    response = _add(client, "email", "not an address")
    assert response.status_code == 422 and "not an address" not in response.get_data(as_text=True).replace(
        "This is not an e-mail address", "")
    assert "Your organisation has no subscription." in client.get("/dashboard/notices/").get_data(as_text=True)


def test_the_page_speaks_the_persons_language(app, partners, people):
    client = _analyst(app, partners, people, language="fr")
    page = client.get("/dashboard/notices/").get_data(as_text=True)
    assert "Notifications d’alerte" in page
