"""The browser harness itself: the live app over HTTP in Chromium, axe under a strict CSP, languages,
the phone, resets between tests, screenshots, and server errors that fail a test."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from flask import Response, request
from markupsafe import escape
from selenium.webdriver.common.by import By

from browser_support import SCREENSHOT_MAX_HEIGHT, assert_accessible, axe, reset, screenshot

# What the web shell sends (service/web): scripts only from the app itself, no inline script.
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1>{body}
<script>document.title = "inline script ran";</script></main></body></html>"""

PAGES = {
    "clean": PAGE.format(title="Clean", body='<p>Nothing wrong here.</p><img src="/_harness/pixel.png" alt="A grey square">'),
    "seeded": PAGE.format(title="Seeded", body='<p>One image lacks its text.</p><img src="/_harness/pixel.png">'),
    # Longer than the window without a style attribute (which the CSP forbids).
    "tall": PAGE.format(title="Tall", body="".join(f"<p>Paragraph {n}.</p>" for n in range(100))),
}
# What the browser does is the same on either database: the tests of the harness's own mechanics
# run on SQLite alone (the first test runs on both).
sqlite_only = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)

# The smallest valid PNG: one grey pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6378000000820081dd6e2e6c0000000049454e44ae426082"
)


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    """The test app with a few test-only pages (the way a browser test adds what it needs)."""

    def page(name: str) -> Response:
        if name not in PAGES:
            return Response("no such page", status=404)
        return Response(PAGES[name], mimetype="text/html", headers={"Content-Security-Policy": CSP})

    def language() -> Response:
        body = f"<!doctype html><title>language</title><p id=language>{escape(request.headers.get('Accept-Language', ''))}</p>"
        return Response(body, mimetype="text/html")

    def cookie() -> Response:
        response = Response(f"<!doctype html><title>cookie</title><p id=cookie>{escape(request.cookies.get('harness', ''))}</p>", mimetype="text/html")
        response.set_cookie("harness", "set", httponly=True, samesite="Lax")
        return response

    def broken() -> Response:
        raise RuntimeError("a page that breaks")

    app.add_url_rule("/_harness/page/<name>", "harness_page", page)
    app.add_url_rule("/_harness/pixel.png", "harness_pixel", lambda: Response(PIXEL, mimetype="image/png"))
    app.add_url_rule("/_harness/language", "harness_language", language)
    app.add_url_rule("/_harness/cookie", "harness_cookie", cookie)
    app.add_url_rule("/_harness/broken", "harness_broken", broken)
    return app


def test_the_browser_reads_the_live_apps_openapi_document(live_server, browser, database_url: str) -> None:
    browser.get(f"{live_server.url}/openapi.json")
    document = json.loads(browser.find_element(By.TAG_NAME, "pre").text)
    assert document["info"]["title"] == "safesignal"
    assert "/v1/pharmacy/reports" in document["paths"]
    engine = live_server.app.extensions["safesignal"].engine
    assert engine.url.get_backend_name() == database_url.split(":", 1)[0].split("+", 1)[0]


@sqlite_only
def test_axe_reports_an_image_without_alt_under_a_strict_csp(live_server, browser) -> None:
    browser.get(f"{live_server.url}/_harness/page/seeded")
    # The CSP is in force (the inline script did not run) and axe ran all the same.
    assert browser.title == "Seeded"
    violations = axe(browser)
    assert [v["id"] for v in violations] == ["image-alt"]
    assert violations[0]["nodes"][0]["target"] == ["img"]
    with pytest.raises(AssertionError) as failure:
        assert_accessible(browser)
    message = str(failure.value)
    assert "1 accessibility rule(s) broken on 'Seeded'" in message
    assert "image-alt (critical): Images must have alternative text" in message
    assert "    at img: Fix any of the following:" in message


@sqlite_only
def test_axe_finds_nothing_on_a_clean_page(live_server, browser) -> None:
    browser.get(f"{live_server.url}/_harness/page/clean")
    assert browser.title == "Clean"
    assert axe(browser) == []
    assert_accessible(browser)


@sqlite_only
@pytest.mark.parametrize("browser_language", ["nl-BE,nl"])
def test_the_browser_asks_for_its_language(live_server, browser, new_browser) -> None:
    browser.get(f"{live_server.url}/_harness/language")
    assert browser.find_element(By.ID, "language").text == "nl-BE,nl;q=0.9"  # Chromium adds the weights
    french = new_browser("fr-BE")
    french.get(f"{live_server.url}/_harness/language")
    assert french.find_element(By.ID, "language").text == "fr-BE"
    assert french.execute_script("return navigator.language") == "fr-BE"


@sqlite_only
def test_the_phone_is_narrow_and_the_browser_wide(live_server, browser, phone) -> None:
    phone.get(f"{live_server.url}/_harness/page/clean")
    assert phone.execute_script("return [innerWidth, navigator.maxTouchPoints > 0]") == [390, True]
    browser.get(f"{live_server.url}/_harness/page/clean")
    assert browser.execute_script("return innerWidth") == 1280


@sqlite_only
def test_a_reset_browser_keeps_no_cookie(live_server, browser) -> None:
    browser.get(f"{live_server.url}/_harness/cookie")
    browser.get(f"{live_server.url}/_harness/cookie")
    assert browser.find_element(By.ID, "cookie").text == "set"
    browser.execute_script("window.open('about:blank')")
    reset(browser)
    assert len(browser.window_handles) == 1
    browser.get(f"{live_server.url}/_harness/cookie")
    assert browser.find_element(By.ID, "cookie").text == ""


@sqlite_only
def test_a_screenshot_is_the_page_beyond_the_window_up_to_a_height_and_only_when_asked(live_server, browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    browser.get(f"{live_server.url}/_harness/page/tall")
    folder = tmp_path / "screenshots"
    monkeypatch.delenv("SAFESIGNAL_SCREENSHOTS", raising=False)
    assert screenshot(browser, "tall", folder=folder) is None
    assert not folder.exists()
    monkeypatch.setenv("SAFESIGNAL_SCREENSHOTS", "1")
    path = screenshot(browser, "tall", folder=folder)
    assert path == folder / "tall.png"
    png = path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    # Beyond the 900-pixel window, cut at the documentation's height (100 paragraphs are taller).
    assert width == 1280 and height == SCREENSHOT_MAX_HEIGHT
    with pytest.raises(ValueError):
        screenshot(browser, "../escape", folder=folder)


@sqlite_only
def test_an_exception_in_the_app_is_caught_by_the_live_server(live_server, browser) -> None:
    browser.get(f"{live_server.url}/_harness/broken")
    assert "Internal Server Error" in browser.find_element(By.TAG_NAME, "body").text
    assert [str(error) for error in live_server.errors] == ["a page that breaks"]
    live_server.errors.clear()  # else the test fails at teardown, as any other that meets one
