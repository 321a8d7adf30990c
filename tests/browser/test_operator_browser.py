"""The operator's pages in Chromium: every page in nl, fr, de and en without an axe violation,
field errors tied to their fields, an invitation link shown once, a token shown once."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from browser_support import assert_accessible, screenshot, set_language, sign_in, submit

LANGUAGES = ("nl-BE,nl", "fr-BE,fr", "de-BE,de", "en")
HEADINGS = {"nl": "Organisaties", "fr": "Organisations", "de": "Organisationen", "en": "Organisations"}


def test_the_operators_pages_in_every_language(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    operator = people.create("admin")
    member = people.create("pharmacy")
    pharmacy_id = member.organisation_id
    partners.run("tracing", "grant", pharmacy_id)
    prevention_id, _ = partners.add("prevention_service", "Preventiedienst Mechelen")
    field_id, _ = partners.add("field_service", "Straathoekwerk Mechelen")
    sign_in(browser, live_server.url, operator, live_server.clock())
    assert browser.current_url == f"{live_server.url}/operator/"  # the operator's landing page
    for number, language in enumerate(LANGUAGES):
        set_language(browser, language)
        code = language[:2]
        browser.get(f"{live_server.url}/operator/")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == code
        assert browser.find_element(By.TAG_NAME, "h1").text == HEADINGS[code]
        assert_accessible(browser)
        if code == "en":
            screenshot(browser, "operator-organisations")
        # A pharmacy without its area: the error is on the area field, and the page stays accessible.
        Select(browser.find_element(By.ID, "kind")).select_by_value("pharmacy")
        browser.find_element(By.ID, "name").send_keys(f"Apotheek {code}")
        submit(browser, "form[action='/operator/organisations'] button[type=submit]")
        assert browser.find_element(By.ID, "area").get_attribute("aria-invalid") == "true"
        assert_accessible(browser)
        # A DPO office added: its token, shown once.
        Select(browser.find_element(By.ID, "kind")).select_by_value("dpo_office")
        browser.find_element(By.ID, "name").clear()
        browser.find_element(By.ID, "name").send_keys(f"DPO {code}")
        submit(browser, "form[action='/operator/organisations'] button[type=submit]")
        token = browser.find_element(By.ID, "token").get_attribute("value")
        assert re.fullmatch(r"ss_[0-9a-f]{32}[A-Za-z0-9_-]{43}", token)
        assert_accessible(browser)
        for organisation_id in (pharmacy_id, prevention_id, field_id):
            browser.get(f"{live_server.url}/operator/organisations/{organisation_id}")
            assert_accessible(browser)
            assert token not in browser.page_source
        browser.get(f"{live_server.url}/operator/organisations/{pharmacy_id}")
        submit(browser, "form[action$='/tokens'] button[type=submit]")
        assert browser.find_element(By.ID, "token").get_attribute("value").startswith("ss_")
        assert_accessible(browser)
        for path in (f"/operator/organisations/{pharmacy_id}/revoke", f"/operator/organisations/{pharmacy_id}/tracing/withdraw",
                     f"/operator/people/{member.id}/revoke", "/operator/sms"):
            browser.get(f"{live_server.url}{path}")
            assert_accessible(browser)
        # People: the list, and an invitation whose link is shown once.
        browser.get(f"{live_server.url}/operator/people")
        assert_accessible(browser)
        if code == "en":
            screenshot(browser, "operator-people")
        Select(browser.find_element(By.ID, "organisation")).select_by_value(pharmacy_id)
        browser.find_element(By.ID, "email").send_keys(f"person.{number}@example.be")
        submit(browser, "form[action='/operator/people'] button[type=submit]")
        link = browser.find_element(By.ID, "link").get_attribute("value")
        assert "/invitation/" in link and "person." not in browser.page_source
        assert_accessible(browser)
        browser.get(f"{live_server.url}/operator/people")
        assert link.rsplit("/", 1)[1] not in browser.page_source


def test_the_operator_sets_a_territory_and_revokes_a_person(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    operator = people.create("admin")
    member = people.create("analyst")
    sign_in(browser, live_server.url, operator, live_server.clock())
    browser.get(f"{live_server.url}/operator/organisations/{member.organisation_id}")
    browser.find_element(By.CSS_SELECTOR, "fieldset.checks input[type=checkbox]").click()
    submit(browser, "form[action$='/territory'] button[type=submit]")
    assert "saved" in browser.find_element(By.CSS_SELECTOR, "main [role=status]").text
    assert "No territory yet" not in browser.page_source
    browser.get(f"{live_server.url}/operator/people")
    submit(browser, f"main table a[href='/operator/people/{member.id}/revoke']")
    submit(browser, "main form button.danger")
    assert browser.current_url == f"{live_server.url}/operator/people"
    assert "revoked" in browser.find_element(By.CSS_SELECTOR, "main [role=status]").text
    assert_accessible(browser)
