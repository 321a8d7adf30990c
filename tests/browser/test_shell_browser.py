"""The shell in Chromium: sign-in with password and TOTP, the invitation with its QR code, every
shell page in every language without an axe violation, CSRF, an expiring session, a revoked person."""

from __future__ import annotations

import re
import uuid

import pyotp
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from browser_support import assert_accessible, screenshot, set_language, sign_in, submit

LANGUAGES = ("nl-BE,nl", "fr-BE,fr", "de-BE,de", "en")
HEADINGS = {"nl": "Aanmelden", "fr": "Se connecter", "de": "Anmelden", "en": "Sign in"}


def _invite(live_server, partners, kind="dpo_office"):  # type: ignore[no-untyped-def]
    from service.people import services

    organisation_id, _ = partners.add(kind, "Invited org")
    state = live_server.app.extensions["safesignal"]
    with state.sessions() as session:
        _, token = services.invite(session, state.accounts, organisation_id=uuid.UUID(organisation_id),
                                   email="new.person@example.org", now=live_server.clock())
        session.commit()
    return token


def test_the_shell_pages_in_every_language_have_no_accessibility_violation(live_server, browser, partners):  # type: ignore[no-untyped-def]
    token = _invite(live_server, partners)
    for language in LANGUAGES:
        set_language(browser, language)
        browser.delete_all_cookies()
        browser.get(f"{live_server.url}/sign-in")
        code = language[:2]
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == code
        assert browser.find_element(By.TAG_NAME, "h1").text == HEADINGS[code]
        assert_accessible(browser)
        browser.get(f"{live_server.url}/no-such-page")
        assert_accessible(browser)
        browser.get(f"{live_server.url}/invitation/{token}")
        assert_accessible(browser)
        if code == "en":
            screenshot(browser, "sign-in")


def test_an_invited_person_sets_a_password_scans_the_code_and_signs_in(live_server, browser, partners):  # type: ignore[no-untyped-def]
    token = _invite(live_server, partners)
    clock = live_server.clock
    browser.get(f"{live_server.url}/invitation/{token}")
    browser.find_element(By.ID, "password").send_keys("a long enough passphrase")
    browser.find_element(By.ID, "confirm").send_keys("a long enough passphrase")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    qr = WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".qr svg")))
    assert qr.size["width"] > 100
    assert_accessible(browser)
    screenshot(browser, "invitation-authenticator")
    secret = browser.find_element(By.CSS_SELECTOR, "code.secret").text.replace(" ", "")
    clock.advance(seconds=30)
    browser.find_element(By.ID, "code").send_keys(pyotp.TOTP(secret).at(clock()))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/sign-in"))
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "ready" in d.find_element(By.CSS_SELECTOR, "[role=status]").text)
    clock.advance(seconds=30)
    browser.find_element(By.ID, "email").send_keys("New.Person@example.org")
    browser.find_element(By.ID, "password").send_keys("a long enough passphrase")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/sign-in/code"))
    assert_accessible(browser)
    browser.find_element(By.ID, "code").send_keys(pyotp.TOTP(secret).at(clock()))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "/sign-in" not in d.current_url)
    assert browser.find_elements(By.CSS_SELECTOR, "form[action='/sign-out']")


def test_a_form_posted_without_its_csrf_token_is_refused(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("analyst")
    sign_in(browser, live_server.url, person, live_server.clock())
    # Another site's forged form would carry no token: remove it from the page's own form.
    browser.execute_script("document.querySelector(\"form[action='/sign-out'] input[name=csrf_token]\").remove()")
    submit(browser, "form[action='/sign-out'] button")
    assert browser.find_element(By.TAG_NAME, "h1").text == "The form has expired"
    browser.get(f"{live_server.url}/")
    assert browser.find_elements(By.CSS_SELECTOR, "form[action='/sign-out']"), "the forged sign-out signed out"


def test_a_session_expires_after_its_idle_time(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("dpo")
    sign_in(browser, live_server.url, person, live_server.clock())
    live_server.clock.advance(minutes=31)
    browser.get(f"{live_server.url}/")
    assert "/sign-in" in browser.current_url
    assert "ended" in browser.find_element(By.CSS_SELECTOR, "main [role=status]").text


def test_a_revoked_person_is_signed_out_at_the_next_page(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("coordinator")
    sign_in(browser, live_server.url, person, live_server.clock())
    result = live_server.app.test_cli_runner().invoke(args=["people", "revoke", person.id])
    if result.exit_code != 0:  # the people CLI is another package's; the service is what counts
        from service.people import services

        state = live_server.app.extensions["safesignal"]
        with state.sessions() as session:
            services.revoke(session, uuid.UUID(person.id), state.clock())
            session.commit()
    browser.get(f"{live_server.url}/")
    assert "/sign-in" in browser.current_url


def _wait_for_language(browser, code: str) -> None:  # type: ignore[no-untyped-def]
    # The old page's <html> may go stale while it is read: wait through that too.
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == code)


@pytest.mark.parametrize("browser_language", ["fr-BE,fr"])
def test_the_language_chosen_is_remembered_for_the_person(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("analyst")
    sign_in(browser, live_server.url, person, live_server.clock())
    select = browser.find_element(By.ID, "language-choice")
    select.find_element(By.CSS_SELECTOR, "option[value=de]").click()
    browser.find_element(By.CSS_SELECTOR, "form.language button").click()
    _wait_for_language(browser, "de")
    # Another browser, in French, signed in as the same person: German, the person's choice.
    live_server.clock.advance(seconds=30)
    browser.delete_all_cookies()
    sign_in(browser, live_server.url, person, live_server.clock())
    _wait_for_language(browser, "de")
    assert re.search(r"Abmelden", browser.page_source)
