"""The operator's SMS page through real HTTP on the app: the SMS file in force (numbers, postcodes,
keywords, replies), the providers' webhook addresses and never their secrets, the channel off when
no SMS file fits, and the last 14 days' counts, made by a real signed webhook and by `count`."""

from __future__ import annotations

import datetime as dt
import html as html_module
import json
import re
import secrets
import time

import pytest

from service.operator.views import OUTCOME_EXPLANATIONS, OUTCOME_NAMES
from service.sms.counts import OUTCOMES, count
from service.sms.gateways import generic_signature
from support import Partners, People

WEBHOOK_URL = "https://sms.safesignal.example"
MUNICIPAL = "+3215000000"  # the demo file's municipal number


@pytest.fixture
def sms_secrets() -> dict[str, str]:
    """Every credential the page must never show, each distinctive enough to search the page for."""
    return {
        "SMS_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "SMS_VONAGE_API_SECRET": secrets.token_hex(8),
        "SMS_VONAGE_SIGNATURE_SECRET": secrets.token_hex(16),
        "SMS_GENERIC_SECRET": secrets.token_hex(16),
    }


@pytest.fixture
def app_config(app_config, sms_secrets):  # type: ignore[no-untyped-def]
    """Every provider configured (sending to an address nobody listens at: no test here sends),
    Vonage sending; the demo's area polygons, so areas have names."""
    return {
        **app_config, **sms_secrets,
        "AREAS_MODE": "polygons",
        "SMS_PROVIDER": "vonage",
        "SMS_TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "SMS_TWILIO_API_URL": "http://127.0.0.1:9",
        "SMS_VONAGE_API_KEY": secrets.token_hex(4),
        "SMS_VONAGE_API_URL": "http://127.0.0.1:9",
        "SMS_GENERIC_SEND_URL": "http://127.0.0.1:9/generic/send",
        "SMS_WEBHOOK_URL": WEBHOOK_URL + "/",
    }


@pytest.fixture
def operator(people):  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("admin")
    return client


def _page(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/operator/sms")
    assert response.status_code == 200
    return html_module.unescape(response.get_data(as_text=True))


def _row(page: str, day: dt.date) -> list[int]:
    """The counts of `day`'s row, in the order of OUTCOMES."""
    match = re.search(rf'<time datetime="{day.isoformat()}">.*?</tr>', page, re.S)
    assert match, f"no row for {day}"
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', match.group(0))]


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_the_page_shows_the_file_in_force_and_the_providers_addresses(app, operator) -> None:  # type: ignore[no-untyped-def]
    page = _page(operator)
    status = _section(page, "status")
    assert "On" in status and "Off" not in status
    # Every provider's two addresses, built on SMS_WEBHOOK_URL (its trailing slash dropped).
    for provider in ("twilio", "vonage", "generic"):
        assert f"{WEBHOOK_URL}/v1/sms/{provider}/inbound" in status
        assert f"{WEBHOOK_URL}/v1/sms/{provider}/status" in status
    assert re.search(r"Texts go out through</dt>\s*<dd>Vonage</dd>", status)
    # The municipal number and the postcodes, with the area names the polygons give.
    places = _section(page, "places")
    assert MUNICIPAL in places and "Binnenstad" in places
    for postcode, name in (("2800", "Binnenstad"), ("2801", "Battel"), ("2811", "Geerdegem"), ("2812", "Nekkerspoel")):
        assert re.search(rf"<th scope=\"row\">{postcode}</th><td>{name} \(<code>", places), postcode
    # Every keyword of the demo file in every language, and its replies.
    keywords = _section(page, "keywords")
    sms_file = app.extensions["safesignal"].sms.file
    for keyword in sms_file.keywords:
        assert keyword.word in keywords, keyword.word
    for texts in sms_file.replies.values():
        for text in texts.values():
            assert text in keywords
    assert "Bien reçu." in keywords and "Ontvangen." in keywords


def test_a_category_that_replies_nothing_says_so_and_why(app, operator) -> None:  # type: ignore[no-untyped-def]
    keywords = _section(_page(operator), "keywords")
    mask = re.search(r"<tr>\s*<th scope=\"row\">[^<]*<br><code>dv_mask19</code>.*?</tr>", keywords, re.S)
    assert mask, "no row for the Masker 19 category"
    row = mask.group(0)
    assert "MASKER19" in row and "MASQUE19" in row
    assert "No reply" in row and "could put the person in danger" in row
    # Its words, per language, and no reply text at all.
    assert row.count('class="by-language"') == 1
    neutral = re.search(r"<code>intrafamily_violence_other</code>.*?</tr>", keywords, re.S)
    assert neutral and "Neutral" in neutral.group(0) and "says nothing to someone else" in neutral.group(0)
    # The catch-all has no words, and answers with its reply kind.
    catch_all = re.search(r"<code>sms_unclassified</code>.*?</tr>", keywords, re.S)
    assert catch_all and "Any text without a keyword." in catch_all.group(0)


def test_no_secret_reaches_the_page(app, operator, sms_secrets) -> None:  # type: ignore[no-untyped-def]
    page = _page(operator)
    settings = app.extensions["safesignal"].sms.settings
    for name, value in {**sms_secrets, "SMS_TWILIO_ACCOUNT_SID": settings["SMS_TWILIO_ACCOUNT_SID"],
                        "SMS_VONAGE_API_KEY": settings["SMS_VONAGE_API_KEY"]}.items():
        assert value not in page, name


def test_the_page_counts_what_became_of_texts_over_14_days(app, operator, clock) -> None:  # type: ignore[no-untyped-def]
    state = app.extensions["safesignal"]
    today = state.clock().date()
    # A real text through the generic provider's signed webhook: the Masker 19 keyword (no reply is sent).
    body = json.dumps({"id": "m-1", "from": "+32470000001", "to": MUNICIPAL, "text": "MASKER19 2800"}).encode()
    secret = state.sms.settings["SMS_GENERIC_SECRET"]
    headers = {"Content-Type": "application/json", "X-Safesignal-Signature": generic_signature(secret, body, int(time.time()))}
    answer = operator.post("/v1/sms/generic/inbound", data=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    answer = operator.post("/v1/sms/generic/inbound", data=body, headers=headers)  # the provider sends it again
    assert answer.status_code == 200
    # More, as the outbox and the inbound path count them: summed over providers per day.
    with state.sessions() as session:
        count(session, today, "twilio", "reported", n=2)
        count(session, today, "twilio", "delivered")
        count(session, today - dt.timedelta(days=13), "vonage", "throttled", n=4)
        count(session, today - dt.timedelta(days=13), "twilio", "throttled", n=1)
        count(session, today - dt.timedelta(days=14), "twilio", "expired", n=7)  # a day too old for the page
        session.commit()
    page = _page(operator)
    counts = _section(page, "counts")
    expected_today = dict.fromkeys(OUTCOMES, 0) | {"reported": 3, "replayed": 1, "delivered": 1}
    assert _row(counts, today) == [expected_today[outcome] for outcome in OUTCOMES]
    oldest = dict.fromkeys(OUTCOMES, 0) | {"throttled": 5}
    assert _row(counts, today - dt.timedelta(days=13)) == [oldest[outcome] for outcome in OUTCOMES]
    assert (today - dt.timedelta(days=14)).isoformat() not in counts
    assert len(re.findall(r"<time datetime=", counts)) == 14
    total = re.search(r"<tfoot>.*?</tfoot>", counts, re.S)
    assert total and re.findall(r'<td class="num">(\d+)</td>', total.group(0)) == [
        str(expected_today[o] + oldest[o]) for o in OUTCOMES]
    # One sender today (the texts' pseudonym of the day): a count, never the number.
    assert re.search(r"Numbers that texted today</dt>\s*<dd>1</dd>", page)
    assert "470000001" not in page and "MASKER19 2800" not in page


def test_every_outcome_is_named_and_explained() -> None:
    assert set(OUTCOME_NAMES) == set(OUTCOMES) == set(OUTCOME_EXPLANATIONS)


def test_the_page_speaks_the_operators_language(app, people) -> None:  # type: ignore[no-untyped-def]
    client, _ = people.signed_in("admin", language="fr")
    page = _page(client)
    assert '<html lang="fr">' in page
    taxonomy = app.extensions["safesignal"].taxonomy
    # Category labels in French, where the taxonomy has them.
    assert taxonomy.categories["sms_help_request"].labels["fr"] in page
    assert "Text messages" not in page and "What each outcome means" not in page


def test_without_a_provider_nothing_goes_out_and_nothing_comes_in(app_with) -> None:  # type: ignore[no-untyped-def]
    # No emulator either: in development, with no credentials set, every provider would point at it.
    app = app_with(SMS_EMULATOR=None, SMS_PROVIDER=None, SMS_TWILIO_AUTH_TOKEN=None, SMS_VONAGE_API_SECRET=None,
                   SMS_VONAGE_SIGNATURE_SECRET=None, SMS_GENERIC_SECRET=None, SMS_TWILIO_ACCOUNT_SID=None,
                   SMS_VONAGE_API_KEY=None, SMS_GENERIC_SEND_URL=None)
    client, _ = People(app, Partners(app)).signed_in("admin")
    status = _section(_page(client), "status")
    assert "None: no reply, code or notice is sent." in status
    assert "No provider is configured" in status and "/v1/sms/" not in status


def test_with_no_sms_file_that_fits_the_channel_is_off(app_with, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Areas far from Mechelen: the demo SMS file's places lie outside them, so it does not fit.
    square = [[[5.0, 50.0], [5.01, 50.0], [5.01, 50.01], [5.0, 50.01], [5.0, 50.0]]]
    areas = tmp_path / "elsewhere.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "elsewhere", "name": "Elsewhere", "municipality": "other"},
         "geometry": {"type": "Polygon", "coordinates": square}}]}))
    app = app_with(AREAS_FILE=str(areas))
    assert app.extensions["safesignal"].sms.file is None
    client, _ = People(app, Partners(app)).signed_in("admin")
    page = _page(client)
    assert "Off</span>: no SMS file fits this deployment" in page
    assert 'id="places"' not in page and 'id="keywords"' not in page and "/v1/sms/" not in page
    # The counts stay readable: what came in before the file stopped fitting.
    assert len(re.findall(r"<time datetime=", _section(page, "counts"))) == 14


def test_with_h3_cells_an_area_is_shown_by_its_code(app_with) -> None:  # type: ignore[no-untyped-def]
    app = app_with(AREAS_MODE="h3")
    client, _ = People(app, Partners(app)).signed_in("admin")
    places = _section(_page(client), "places")
    cell = app.extensions["safesignal"].sms.file.postcodes["2800"]
    assert re.search(rf"<th scope=\"row\">2800</th><td><code>{cell}</code></td>", places)
    assert "Binnenstad" not in places
