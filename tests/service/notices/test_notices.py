"""Alert notices: subscriptions over the API, and the job that tests each new week and tells the
subscribers by SMS (through the emulator, over real HTTP) and e-mail (a real SMTP server)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import httpx
import pytest
from notices_support import seed
from sqlalchemy import MetaData, select
from support import bearer, free_port

from service.audit.models import AuditEntry
from service.notices import services
from service.notices.jobs import run_notices
from service.notices.services import newest_released_week
from service.signals.models import BudgetSpend
from service.sms.models import AlertSubscription
from service.sms.text import segments

NUMBER = "0470 12 34 56"
E164 = "+32470123456"
ADDRESS = "preventie@gemeente-noord.example.be"
# What a notice must never say: areas, districts, municipalities, categories, a count.
SECRETS = ("n1", "n2", "n3", "n-centre", "north", "noord", "dv_mask19", "mask", "masker", "housing")


def _state(app):  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"]


def _analyst(partners, municipality: str = "north", name: str = "Preventiedienst Noord") -> tuple[str, str]:
    output = partners.run("partners", "add", "--kind", "prevention_service", "--name", name, "--municipality", municipality)
    return output.split()[1], output.rsplit(": ", 1)[1].strip()


def _subscribe(client, token: str, medium: str, contact: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/alert-subscriptions", json={"medium": medium, "contact": contact}, headers=bearer(token))


def _phone_inbox(api: str) -> list[dict[str, str]]:
    return httpx.get(f"{api}/emulator/messages").json()  # type: ignore[no-any-return]


def _weeks(app, count: int) -> list[dt.date]:  # type: ignore[no-untyped-def]
    state = _state(app)
    newest = newest_released_week(state, state.clock())
    return [newest - dt.timedelta(days=7 * back) for back in range(count - 1, -1, -1)]


# --- the API -------------------------------------------------------------------------------------


def test_subscribe_list_and_delete_never_show_the_contact(app, partners, clock, db_engine):
    client = app.test_client()
    _, token = _analyst(partners)
    made = _subscribe(client, token, "sms", NUMBER)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert set(body) == {"id", "medium", "created_at", "expires_at"} and body["medium"] == "sms"
    assert NUMBER not in made.get_data(as_text=True) and E164 not in made.get_data(as_text=True)
    # Retention's alert_subscriptions period (365 days) from the UTC day it was made.
    assert body["expires_at"] == (dt.datetime.combine(clock.now.date(), dt.time()) + dt.timedelta(days=365)).isoformat() + "Z"
    mail = _subscribe(client, token, "email", ADDRESS)
    assert mail.status_code == 201

    listed = client.get("/v1/alert-subscriptions", headers=bearer(token))
    assert listed.status_code == 200
    assert {s["id"] for s in listed.get_json()["subscriptions"]} == {body["id"], mail.get_json()["id"]}
    assert ADDRESS not in listed.get_data(as_text=True) and E164 not in listed.get_data(as_text=True)

    gone = client.delete(f"/v1/alert-subscriptions/{body['id']}", headers=bearer(token))
    assert gone.status_code == 204
    assert [s["id"] for s in client.get("/v1/alert-subscriptions", headers=bearer(token)).get_json()["subscriptions"]] == [
        mail.get_json()["id"]]
    assert client.delete(f"/v1/alert-subscriptions/{body['id']}", headers=bearer(token)).status_code == 404
    with db_engine.connect() as connection:
        kinds = [(e.kind, e.detail) for e in connection.execute(select(AuditEntry.kind, AuditEntry.detail)
                                                                  .where(AuditEntry.kind.like("alert_subscription.%")))]
    assert [k for k, _ in kinds] == ["alert_subscription.created", "alert_subscription.created", "alert_subscription.deleted"]
    assert all(E164 not in str(detail) and ADDRESS not in str(detail) for _, detail in kinds)


def test_another_organisations_subscription_is_not_found(app, partners):
    client = app.test_client()
    _, north = _analyst(partners)
    _, south = _analyst(partners, "south", "Preventiedienst Zuid")
    made = _subscribe(client, north, "email", ADDRESS).get_json()
    assert client.get("/v1/alert-subscriptions", headers=bearer(south)).get_json()["subscriptions"] == []
    response = client.delete(f"/v1/alert-subscriptions/{made['id']}", headers=bearer(south))
    assert response.status_code == 404 and response.get_json()["message"] == "No alert subscription of your organisation has this id."
    assert client.delete("/v1/alert-subscriptions/not-an-id", headers=bearer(south)).status_code == 404
    assert len(client.get("/v1/alert-subscriptions", headers=bearer(north)).get_json()["subscriptions"]) == 1


def test_only_analysts_subscribe(app, partners):
    client = app.test_client()
    _, pharmacy = partners.add("pharmacy", "Apotheek", "n1")
    assert _subscribe(client, pharmacy, "email", ADDRESS).status_code == 403
    assert client.get("/v1/alert-subscriptions").status_code == 401


@pytest.mark.parametrize(("medium", "contact", "field"), [
    ("sms", "015 12 34 56", "contact"),  # a landline: no text reaches it
    ("sms", "12345678901234567890", "contact"),
    ("email", "not an address", "contact"),
    ("fax", ADDRESS, "medium"),
])
def test_a_bad_contact_is_a_field_error_that_does_not_repeat_it(app, partners, medium, contact, field):
    _, token = _analyst(partners)
    response = _subscribe(app.test_client(), token, medium, contact)
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {field}
    assert contact not in response.get_data(as_text=True)


def test_a_medium_this_deployment_cannot_send_by_is_refused(app_with, partners):
    app = app_with(SMS_PROVIDER=None, SMTP_HOST=None)
    partners = type(partners)(app)
    _, token = _analyst(partners)
    client = app.test_client()
    for medium, contact, said in (("sms", NUMBER, "sends no texts"), ("email", ADDRESS, "no SMTP server")):
        response = _subscribe(client, token, medium, contact)
        assert response.status_code == 422
        assert said in response.get_json()["errors"]["json"]["medium"][0]
    assert client.get("/v1/alert-subscriptions", headers=bearer(token)).get_json()["subscriptions"] == []


def test_an_organisation_has_at_most_five_subscriptions(app, partners):
    client = app.test_client()
    _, token = _analyst(partners)
    for n in range(services.MAX_PER_ORGANISATION):
        assert _subscribe(client, token, "email", f"person{n}@example.be").status_code == 201
    response = _subscribe(client, token, "email", "one-too-many@example.be")
    assert response.status_code == 409 and "at most 5" in response.get_json()["message"]


# --- the job -------------------------------------------------------------------------------------


def test_a_flagged_week_sends_one_notice_per_subscription(app, partners, clock, provider_api, smtp):
    _, inbox = smtp
    state = _state(app)
    weeks = _weeks(app, 10)
    seed(state, weeks, [20, 22, 19, 21, 20, 23, 21, 20, 22, 60])  # the last week rises in n1
    client = app.test_client()
    organisation, token = _analyst(partners)
    by_sms = _subscribe(client, token, "sms", NUMBER).get_json()["id"]
    by_mail = _subscribe(client, token, "email", ADDRESS).get_json()["id"]

    done = run_notices(state)
    assert (done.tested, done.sent, done.skipped, done.failed) == (2, 2, 0, 0)
    (text,) = _phone_inbox(provider_api)
    assert text["to"] == E164
    monday = weeks[-1]
    expected = f"er is een signaal om te bekijken in de week van {monday:%d-%m-%Y}. Meld u aan: https://safesignal.example.be/dashboard/"
    assert text["text"] == "safesignal: " + expected  # the SMS file's default language, nl
    assert segments(text["text"]) == 1
    ((recipients, message),) = inbox.received
    assert recipients == [ADDRESS]
    body = message.get_content()
    assert f"week of {monday.day} {monday:%b} {monday.year}" in body and "semaine du" in body and "Woche vom" in body
    for said in (text["text"].lower(), body.lower(), str(message["Subject"]).lower()):
        assert not any(secret in said for secret in SECRETS), said

    # The week was opened for the organisation, as reading its alerts would: charged once, audited as the notice's.
    with state.sessions() as session:
        assert weeks[-1] in set(session.scalars(select(BudgetSpend.week).where(BudgetSpend.organisation_id == uuid.UUID(organisation))))
        actors = set(session.scalars(select(AuditEntry.actor).where(AuditEntry.kind == "signals.opened")))
        assert actors <= {f"notice:{by_sms}", f"notice:{by_mail}"} and actors
        assert {row.notified_week for row in session.scalars(select(AlertSubscription))} == {weeks[-1]}

    # Tested once: another run sends nothing, nor does the next week if nothing rises in it.
    assert run_notices(state).tested == 0
    clock.advance(days=7)
    seed(state, [weeks[-1] + dt.timedelta(days=7)], [21])
    done = run_notices(state)
    assert (done.tested, done.sent) == (2, 0)
    assert len(_phone_inbox(provider_api)) == 1 and len(inbox.received) == 1


def test_a_week_with_nothing_flagged_sends_nothing(app, partners, provider_api, smtp):
    _, inbox = smtp
    state = _state(app)
    weeks = _weeks(app, 10)
    seed(state, weeks, [20, 22, 19, 21, 20, 23, 21, 20, 22, 21])
    client = app.test_client()
    _, token = _analyst(partners)
    _subscribe(client, token, "sms", NUMBER)
    _subscribe(client, token, "email", ADDRESS)
    done = run_notices(state)
    assert (done.tested, done.sent) == (2, 0)
    assert _phone_inbox(provider_api) == [] and inbox.received == []
    with state.sessions() as session:
        assert {row.notified_week for row in session.scalars(select(AlertSubscription))} == {weeks[-1]}


def test_a_week_the_budget_cannot_pay_for_is_skipped_not_an_error(app_with, partners, provider_api, smtp):
    app = app_with(SIGNALS_BUDGET_PER_QUARTER=100)  # two releases of epsilon 50: not the eight alerts read
    partners = type(partners)(app)
    state = _state(app)
    weeks = _weeks(app, 10)
    seed(state, weeks, [20, 22, 19, 21, 20, 23, 21, 20, 22, 60])
    _, token = _analyst(partners)
    _subscribe(app.test_client(), token, "sms", NUMBER)
    done = run_notices(state)
    assert (done.tested, done.sent, done.skipped, done.failed) == (1, 0, 1, 0)
    assert _phone_inbox(provider_api) == []
    with state.sessions() as session:
        assert session.scalars(select(BudgetSpend)).all() == []  # all or nothing: a refusal charges nothing
        assert session.scalars(select(AlertSubscription.notified_week)).one() == weeks[-1]


def test_an_smtp_failure_is_tried_again_next_run(app_with, partners, smtp):
    _, inbox = smtp
    app = app_with(SMTP_PORT=free_port())  # nothing listens there
    partners = type(partners)(app)
    state = _state(app)
    weeks = _weeks(app, 10)
    seed(state, weeks, [20, 22, 19, 21, 20, 23, 21, 20, 22, 60])
    _, token = _analyst(partners)
    _subscribe(app.test_client(), token, "email", ADDRESS)
    done = run_notices(state)
    assert (done.sent, done.failed) == (0, 1)
    with state.sessions() as session:
        assert session.scalars(select(AlertSubscription.notified_week)).one() is None
    again = app_with(SMTP_PORT=smtp[0].port)  # the server is back
    done = run_notices(_state(again))
    assert (done.tested, done.sent) == (1, 1) and len(inbox.received) == 1


def test_the_contact_is_in_no_table_and_no_log(app, app_config, partners, provider_api, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    state = _state(app)
    weeks = _weeks(app, 10)
    seed(state, weeks, [20, 22, 19, 21, 20, 23, 21, 20, 22, 60])
    client = app.test_client()
    _, token = _analyst(partners)
    assert _subscribe(client, token, "sms", NUMBER).status_code == 201
    assert _subscribe(client, token, "email", ADDRESS).status_code == 201
    assert run_notices(state).sent == 2
    assert len(_phone_inbox(provider_api)) == 1 and len(smtp[1].received) == 1

    needles = [value.encode() for value in (E164, E164[1:], "470123456", ADDRESS, ADDRESS.split("@")[0])]
    for engine in (state.engine, state.keys_engine):
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            for table in tables.sorted_tables:
                for row in connection.execute(table.select()):
                    dumped = b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
                    assert not any(needle in dumped for needle in needles), table.name
    # Ours and the libraries' we call (httpx, smtplib); not the emulator's nor the SMTP server's, which stand
    # in for the provider and the mail server and may show whom they received for.
    outside = ("safesignal.sms.emulator", "mail.log")
    logged = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records if not r.name.startswith(outside))
    assert "470123456" not in logged and "470 12 34 56" not in logged and ADDRESS.split("@")[0] not in logged
