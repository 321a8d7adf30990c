"""The field service coordinator's pages in Chromium: every page in nl, fr, de and en without an
axe violation, a new enrollment code with its QR code, a device revoked after the confirmation."""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By
from sqlalchemy import select

from browser_support import assert_accessible, screenshot, set_language, sign_in, submit
from service.partners.models import Credential

LANGUAGES = ("nl-BE,nl", "fr-BE,fr", "de-BE,de", "en")
HEADINGS = {"nl": "Toestellen van", "fr": "Appareils de", "de": "Geräte von", "en": "Devices of"}
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def test_the_coordinators_pages_in_every_language_and_a_code_with_its_qr(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    person = people.create("coordinator")
    enrolling = live_server.app.test_client()
    partners.device(enrolling, person.organisation_id)
    with live_server.app.extensions["safesignal"].engine.connect() as connection:
        device_id = connection.execute(select(Credential.id).where(Credential.role == "field_device")).scalar_one()
    sign_in(browser, live_server.url, person, live_server.clock())
    assert browser.current_url == f"{live_server.url}/devices/"  # the coordinator's landing page
    shown = []
    for language in LANGUAGES:
        set_language(browser, language)
        code = language[:2]
        browser.get(f"{live_server.url}/devices/")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == code
        assert browser.find_element(By.TAG_NAME, "h1").text.startswith(HEADINGS[code])
        assert_accessible(browser)
        if code == "en":
            screenshot(browser, "coordinator-devices")
        # A label left out: the error is tied to its field.
        submit(browser)
        assert browser.find_element(By.ID, "label").get_attribute("aria-invalid") == "true"
        assert_accessible(browser)
        browser.find_element(By.ID, "label").send_keys(f"tablet {code}")
        submit(browser)
        qr = browser.find_element(By.CSS_SELECTOR, ".qr svg")
        assert qr.size["width"] >= 200 and qr.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        enrollment = browser.find_element(By.CSS_SELECTOR, ".enrolment-code code").text
        assert CODE.match(enrollment)
        shown.append(enrollment)
        assert_accessible(browser)
        if code == "en":
            screenshot(browser, "coordinator-code")
        browser.get(f"{live_server.url}/devices/{device_id}/revoke")
        assert_accessible(browser)
    # Shown once: the list has the labels of the codes, never the codes.
    browser.get(f"{live_server.url}/devices/")
    source = browser.page_source
    assert "tablet nl" in source and not any(enrollment in source for enrollment in shown)
    # The app scans the code and enrolls.
    assert enrolling.post("/v1/devices/enroll", json={"code": shown[-1]}).status_code == 201


def test_a_device_is_revoked_after_the_confirmation(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    person = people.create("coordinator")
    partners.device(live_server.app.test_client(), person.organisation_id)
    sign_in(browser, live_server.url, person, live_server.clock())
    submit(browser, "main table a[href$='/revoke']")
    assert "tablet 1" in browser.find_element(By.TAG_NAME, "h1").text
    submit(browser, "main form button.danger")
    assert browser.current_url == f"{live_server.url}/devices/"
    assert "tablet 1" in browser.find_element(By.CSS_SELECTOR, "main [role=status]").text
    assert not browser.find_elements(By.CSS_SELECTOR, "main table a[href$='/revoke']")
    assert_accessible(browser)
