"""The DPO's console in Chromium: every page accessible in four languages, and the audit log checked
by the DPO's own browser (WebCrypto), which catches an entry edited in the database, saves the
checkpoints to a file and re-checks that file later."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import text

from browser_support import assert_accessible, screenshot
from browser_support import sign_in as shared_sign_in
from support import Clock, bearer

PAGES = ("/dpo/", "/dpo/runs", "/dpo/inventory", "/dpo/record", "/dpo/audit")
# The browser judges entry times against its own clock (a time in the future is a forgery), so the
# service's frozen clock must lie in the past: 40 days ago, then 36 days on for a retention run.
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=123456)
# Waits for what the page does in the browser (fetches, hashing): a bound, never an assertion.
WAIT = 60


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW - dt.timedelta(days=40))


@pytest.fixture
def held(live_server, partners):  # type: ignore[no-untyped-def]
    """Reports shredded by a real retention run (with a signed checkpoint), and two held from today."""
    app, clock = live_server.app, live_server.clock
    client = app.test_client()
    token = partners.pharmacy()

    def submit(count: int) -> None:
        reports = [{"category": "dv_mask19", "observed_at": (clock.now - dt.timedelta(minutes=5)).isoformat()}
                   for _ in range(count)]
        response = client.post("/v1/pharmacy/reports/batch", json={"reports": reports}, headers=bearer(token))
        assert response.get_json()["accepted"] == count

    submit(3)
    clock.advance(days=36)
    assert app.extensions["safesignal"].retention.run().checkpoint
    submit(2)


def sign_in(driver, live_server, person) -> None:  # type: ignore[no-untyped-def]
    """Password, then the TOTP code of the service's clock, through the real pages (each step
    waits for its next page: browser_support.sign_in)."""
    shared_sign_in(driver, live_server.url, person, live_server.clock(), target="/dpo/")
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url.endswith("/dpo/"))


def choose_language(driver, language: str) -> None:  # type: ignore[no-untyped-def]
    Select(driver.find_element(By.ID, "language-choice")).select_by_value(language)
    driver.find_element(By.CSS_SELECTOR, "form.language button[type=submit]").click()
    # A script run while the page changes may fail: that is not the next page yet, so wait on.
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.documentElement.lang") == language)


def status(driver) -> str:  # type: ignore[no-untyped-def]
    return driver.find_element(By.CSS_SELECTOR, '#audit-verify [data-role="status"]').text


def settled(driver) -> str | bool:  # type: ignore[no-untyped-def]
    """The verdict once the check has finished (the status is busy while it runs)."""
    element = driver.find_element(By.CSS_SELECTOR, '#audit-verify [data-role="status"]')
    return element.get_attribute("aria-busy") == "false" and element.text


def test_every_page_passes_axe_in_every_language(live_server, browser, held, people) -> None:  # type: ignore[no-untyped-def]
    sign_in(browser, live_server, people.create("dpo"))
    for language in ("nl", "fr", "de", "en"):
        choose_language(browser, language)
        for path in PAGES:
            browser.get(f"{live_server.url}{path}")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
            assert len(browser.find_elements(By.TAG_NAME, "h1")) == 1
            assert_accessible(browser)
    browser.get(f"{live_server.url}/dpo/")
    screenshot(browser, "dpo-overview")
    browser.get(f"{live_server.url}/dpo/runs")
    screenshot(browser, "dpo-runs")
    browser.get(f"{live_server.url}/dpo/inventory")
    # The chart is drawn: one bar segment for today's two reports.
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img] rect[fill]")
    screenshot(browser, "dpo-inventory")
    browser.get(f"{live_server.url}/dpo/record")
    screenshot(browser, "dpo-record")
    # Printed, the record is the record alone: no menu, language form or footer.
    assert browser.find_element(By.CSS_SELECTOR, "header.site").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.CSS_SELECTOR, "header.site").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, "footer.site").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "article.record h1").is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_the_browser_verifies_the_log_catches_an_edit_and_rechecks_saved_checkpoints(
        live_server, new_browser, held, people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    driver = new_browser()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    sign_in(driver, live_server, people.create("dpo"))
    driver.get(f"{live_server.url}/dpo/audit")
    assert "Verified" in driver.find_element(By.CSS_SELECTOR, "p.verdict.ok").text

    driver.find_element(By.CSS_SELECTOR, '[data-action="verify"]').click()
    verdict = WebDriverWait(driver, WAIT).until(settled)
    key_id = live_server.app.extensions["safesignal"].retention.signer.key_id
    assert verdict.startswith("Verified in this browser: entries 1 to "), verdict
    assert f"(key {key_id})" in verdict
    screenshot(driver, "dpo-audit")

    # Save: the checkpoints document as served, in a file of the DPO's own.
    driver.find_element(By.CSS_SELECTOR, '[data-action="save"]').click()
    WebDriverWait(driver, WAIT).until(lambda d: [p for p in downloads.glob("*.json")])
    saved = next(downloads.glob("*.json"))
    WebDriverWait(driver, WAIT).until(lambda d: saved.stat().st_size > 0 and _json(saved) is not None)
    document = _json(saved)
    assert document["key_id"] == key_id and document["checkpoints"]
    assert saved.name.startswith("safesignal-audit-checkpoints-")

    # Re-check the file: the log still matches it.
    driver.find_element(By.CSS_SELECTOR, '[data-action="recheck"]').send_keys(str(saved))
    verdict = WebDriverWait(driver, WAIT).until(settled)
    assert verdict.startswith("The saved checkpoints still match the audit log"), verdict

    # Someone with access to the database edits an entry the checkpoint covers.
    engine = live_server.app.extensions["safesignal"].engine
    with engine.begin() as connection:
        seq = connection.execute(text("SELECT min(seq) FROM audit_entry WHERE kind = 'retention.purged'")).scalar_one()
        connection.execute(text("UPDATE audit_entry SET detail = :detail WHERE seq = :seq"),
                           {"detail": '{"rows":0}', "seq": seq})
    driver.find_element(By.CSS_SELECTOR, '[data-action="verify"]').click()
    WebDriverWait(driver, WAIT).until(lambda d: settled(d) and "first at entry" in status(d))
    verdict = status(driver)
    assert verdict == (f"The audit log does not verify in this browser, first at entry {seq}: "
                       "an entry was altered: its content does not match its hash"), verdict
    # The saved file no longer matches either, and the server agrees.
    driver.find_element(By.CSS_SELECTOR, '[data-action="recheck"]').send_keys(str(saved))
    WebDriverWait(driver, WAIT).until(lambda d: settled(d) and "saved checkpoints" in status(d))
    assert status(driver).startswith(f"The audit log no longer matches the saved checkpoints, first at entry {seq}: ")
    driver.get(f"{live_server.url}/dpo/audit")
    assert f"The audit log breaks at entry {seq}." in driver.find_element(By.CSS_SELECTOR, "p.verdict.bad").text


def test_the_browser_check_speaks_the_persons_language(live_server, browser, held, people) -> None:  # type: ignore[no-untyped-def]
    sign_in(browser, live_server, people.create("dpo", language="fr"))
    browser.get(f"{live_server.url}/dpo/audit")
    browser.find_element(By.CSS_SELECTOR, '[data-action="verify"]').click()
    verdict = WebDriverWait(browser, WAIT).until(settled)
    assert verdict.startswith("Vérifié dans ce navigateur : entrées 1 à "), verdict


def _json(path: Path):  # type: ignore[no-untyped-def]
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None
