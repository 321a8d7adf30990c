"""The dashboard in Chromium, on the demo's releases (Mechelen in H3 cells, ten weeks of synthetic
tallies released by the demo's own code): the map and the chart drawn from a real release, the key
flow (open a week, read its alerts), and every page in nl, fr, de and en without an axe violation."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from browser_support import assert_accessible, screenshot, set_language, sign_in

LANGUAGES = ("nl-BE,nl", "fr-BE,fr", "de-BE,de", "en")
HEADINGS = {"nl": "Publicatiekalender", "fr": "Calendrier des publications", "de": "Veröffentlichungskalender", "en": "Release calendar"}


def _label(week) -> str:  # type: ignore[no-untyped-def]
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


@pytest.fixture
def released(live_server, partners, people):  # type: ignore[no-untyped-def]
    """The demo's ten released weeks (the last with a rise), a prevention service of Mechelen and
    its analyst: (person, weeks)."""
    from service.demo import seed_signals

    output = partners.run("partners", "add", "--kind", "prevention_service", "--name", "Preventiedienst Mechelen",
                          "--municipality", "mechelen")
    organisation = output.split()[1]
    state = live_server.app.extensions["safesignal"]
    with state.sessions() as session:
        weeks = seed_signals(session, state, live_server.clock())
    assert len(weeks) == 10
    return people.create("analyst", organisation_id=organisation), weeks


def _press(browser, selector: str) -> None:  # type: ignore[no-untyped-def]
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(old))


def test_an_analyst_opens_a_week_sees_its_map_and_reads_its_alerts(live_server, browser, released):  # type: ignore[no-untyped-def]
    person, weeks = released
    latest = _label(weeks[-1])
    sign_in(browser, live_server.url, person, live_server.clock())
    assert browser.current_url.endswith("/dashboard/")
    assert "14.0" in browser.find_element(By.CSS_SELECTOR, "table.budget").text
    assert_accessible(browser)
    screenshot(browser, "dashboard-calendar")

    _press(browser, f"form[action='/dashboard/weeks/{latest}/open'] button")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Week {latest}"
    assert "1.0 taken from the budget" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    # The map: one path per place, each with its title; the table beside it says the same.
    paths = browser.find_elements(By.CSS_SELECTOR, "figure.map svg path")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.cells tbody tr")
    assert len(paths) == len(rows) > 1
    titles = [p.find_element(By.TAG_NAME, "title").get_attribute("textContent") for p in paths]
    assert all(":" in t for t in titles) and any("likely between" in t for t in titles)
    assert paths[0].size["width"] > 20  # drawn, not an empty box
    assert_accessible(browser)
    screenshot(browser, "dashboard-week")

    # The area level in H3 cells: one hexagon per cell of the territory.
    browser.find_element(By.CSS_SELECTOR, "#geo option[value=area]").click()
    _press(browser, "form.view button")
    cells = len(live_server.app.extensions["safesignal"].areas.areas())
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.map svg path")) == cells
    assert_accessible(browser)

    browser.get(f"{live_server.url}/dashboard/weeks/{latest}/alerts")
    assert "costs ε 7.0 in all" in browser.find_element(By.CSS_SELECTOR, "main form[method=post] button").text
    assert_accessible(browser)
    _press(browser, "main form[method=post] button")
    alerts = browser.find_elements(By.CSS_SELECTOR, "ul.alerts li")
    assert alerts, browser.find_element(By.TAG_NAME, "main").text
    assert "far above what the" in alerts[0].text and "less than once in" in alerts[0].text
    assert_accessible(browser)
    screenshot(browser, "dashboard-alerts")

    browser.get(f"{live_server.url}/dashboard/series")
    marks = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg g > title")
    assert len(marks) == 8  # the weeks opened (the tested week and its 7 baseline weeks), no other
    assert_accessible(browser)
    screenshot(browser, "dashboard-series")


def test_every_dashboard_page_in_every_language_has_no_accessibility_violation(live_server, browser, released):  # type: ignore[no-untyped-def]
    person, weeks = released
    latest, closed = _label(weeks[-1]), _label(weeks[-2])
    sign_in(browser, live_server.url, person, live_server.clock())
    _press(browser, f"form[action='/dashboard/weeks/{latest}/open'] button")
    pages = ["/dashboard/", f"/dashboard/weeks/{latest}", f"/dashboard/weeks/{latest}?geo=area&show=phenomenon:victimisation",
             f"/dashboard/weeks/{closed}", f"/dashboard/weeks/{latest}/alerts", "/dashboard/series"]
    for language in LANGUAGES:
        set_language(browser, language)
        code = language[:2]
        # The person's saved choice wins over the browser's: choose it on the page, as a person does.
        for attempt in range(3):
            try:
                browser.get(f"{live_server.url}/dashboard/")
                browser.find_element(By.CSS_SELECTOR, f"#language-choice option[value={code}]").click()
                _press(browser, "form.language button")
                break
            except WebDriverException:
                # Chromium once lost the button between finding and clicking it ("Node with given id
                # does not belong to the document", CI on PostgreSQL): the page was still being
                # replaced. Load it again and choose again; a third failure is a failure.
                if attempt == 2:
                    raise
        assert browser.find_element(By.TAG_NAME, "h1").text == HEADINGS[code]
        for path in pages:
            browser.get(f"{live_server.url}{path}")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == code, path
            assert_accessible(browser)
