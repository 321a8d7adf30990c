"""The pharmacy counter in Chromium: a Masker 19 report with the keyboard alone, nothing of a report
left in the page or the history after sending, a verification code with its QR code, and every
counter page in every language without an axe violation."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from browser_support import assert_accessible, screenshot, sign_in, wait_for_path
from service.reports.models import Report
from service.reports.services import read_payload

LANGUAGES = ("nl", "fr", "de", "en")
NOTE = "Zus belt terug op 0470 12 34 56"


def _reports(live_server) -> list[Report]:  # type: ignore[no-untyped-def]
    with live_server.app.extensions["safesignal"].sessions() as session:
        return list(session.scalars(select(Report)))


def test_a_masker_19_report_goes_out_with_one_key_and_leaves_nothing_behind(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("pharmacy")
    sign_in(browser, live_server.url, person, live_server.clock())
    wait_for_path(browser, "/counter/")
    visited = [browser.current_url]
    # The page opens with "Masker 19" focused: Enter (one interaction) sends the report.
    focused = browser.switch_to.active_element
    assert focused.get_attribute("value") == "dv_mask19" and "Masker 19" in focused.text
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for_path(browser, "/counter/sent")
    visited.append(browser.current_url)
    status = browser.find_element(By.CSS_SELECTOR, "main [role=status]").text
    assert "Masker 19" in status
    (report,) = _reports(live_server)
    assert report.category == "dv_mask19"
    # "Send another report" has the focus: a second Enter is back at an empty form.
    assert browser.switch_to.active_element.get_attribute("href").endswith("/counter/")
    # Back in the history: the form is fresh (no-store), the confirmation is not shown again.
    browser.back()
    wait_for_path(browser, "/counter/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Report a signal"
    assert not browser.find_elements(By.CSS_SELECTOR, "main [role=status]")
    browser.forward()
    wait_for_path(browser, "/counter/")  # the confirmation, once read, sends back to the form
    assert not browser.find_elements(By.CSS_SELECTOR, "main [role=status]")
    visited.append(browser.current_url)
    for url in visited:
        assert "dv_mask19" not in url and "category" not in url and "?" not in url


def test_a_note_leaves_neither_the_page_nor_the_history(live_server, browser, people):  # type: ignore[no-untyped-def]
    person = people.create("pharmacy")
    sign_in(browser, live_server.url, person, live_server.clock(), target="/counter/")
    wait_for_path(browser, "/counter/")
    # Keyboard only: open the optional details, type the note, and send with "Masker 19".
    browser.find_element(By.CSS_SELECTOR, "details.optional summary").send_keys(Keys.ENTER)
    note = browser.find_element(By.ID, "note")
    note.send_keys(NOTE)
    browser.find_element(By.CSS_SELECTOR, "button[value=dv_mask19]").send_keys(Keys.ENTER)
    wait_for_path(browser, "/counter/sent")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "A phone number was removed." in main
    assert "0470" not in browser.page_source and "Zus belt" not in browser.page_source
    (report,) = _reports(live_server)
    assert read_payload(live_server.app.extensions["safesignal"].intake, report).note == "Zus belt terug op [phone]"
    screenshot(browser, "counter-sent")
    browser.back()
    wait_for_path(browser, "/counter/")
    assert browser.find_element(By.ID, "note").get_attribute("value") == ""
    assert "0470" not in browser.page_source and "Zus belt" not in browser.page_source
    assert "0470" not in browser.current_url and "note" not in browser.current_url


def test_a_granted_pharmacy_issues_a_code_shown_once_with_its_qr_code(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    person = people.create("pharmacy")
    partners.run("tracing", "grant", person.organisation_id)
    sign_in(browser, live_server.url, person, live_server.clock(), target="/counter/code")
    wait_for_path(browser, "/counter/code")
    assert "100 of 100" in browser.find_element(By.CSS_SELECTOR, ".quota").text
    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=symptoms]").click()
    day = browser.find_element(By.ID, "day")
    browser.execute_script("arguments[0].value = '2026-11-27'", day)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "p.code")))
    groups = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "p.code .group")]
    assert len(groups) == 3 and all(len(group) == 4 and group.isdigit() for group in groups)
    assert browser.find_element(By.CSS_SELECTOR, ".qr svg").size["width"] > 100
    assert "99 of 100" in browser.find_element(By.TAG_NAME, "main").text
    assert "".join(groups) not in browser.current_url
    assert_accessible(browser)
    screenshot(browser, "counter-code")
    # Back: the form again, no code.
    browser.back()
    wait_for_path(browser, "/counter/code")
    assert not browser.find_elements(By.CSS_SELECTOR, "p.code")
    assert groups[0] + " " + groups[1] not in browser.page_source


def test_every_counter_page_in_every_language_has_no_accessibility_violation(live_server, browser, people, partners):  # type: ignore[no-untyped-def]
    organisation_id = people.organisation("pharmacy")
    for language in LANGUAGES:
        person = people.create("pharmacy", organisation_id=organisation_id, language=language)
        browser.delete_all_cookies()
        live_server.clock.advance(seconds=30)
        sign_in(browser, live_server.url, person, live_server.clock(), target="/counter/")
        wait_for_path(browser, "/counter/")
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
        for summary in browser.find_elements(By.CSS_SELECTOR, "form.counter details summary"):
            summary.click()  # open: axe checks what a person opens too
        assert_accessible(browser)
        if language == "en":
            browser.execute_script("document.querySelectorAll('form.counter details').forEach(d => d.open = false)")
            screenshot(browser, "counter-report")
        # A refused field, as the person sees it.
        browser.execute_script("arguments[0].value = '23:59'", browser.find_element(By.ID, "observed_time"))
        browser.find_element(By.CSS_SELECTOR, "button[value=harm_reduction_naloxone]").click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "observed_time-error")))
        assert_accessible(browser)
        browser.find_element(By.ID, "observed_time").clear()
        browser.find_element(By.CSS_SELECTOR, "button[value=dv_mask19]").click()
        wait_for_path(browser, "/counter/sent")
        assert_accessible(browser)
        browser.get(f"{live_server.url}/counter/code")
        assert_accessible(browser)  # not granted: says so
        if language == LANGUAGES[0]:
            partners.run("tracing", "grant", organisation_id)
        else:
            browser.refresh()
        browser.get(f"{live_server.url}/counter/code")
        assert browser.find_elements(By.ID, "day")
        assert_accessible(browser)
        browser.execute_script("arguments[0].value = '2026-12-24'", browser.find_element(By.ID, "day"))
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.ID, "day-error")))
        assert_accessible(browser)
        browser.execute_script("arguments[0].value = '2026-11-28'", browser.find_element(By.ID, "day"))
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "p.code")))
        assert_accessible(browser)
