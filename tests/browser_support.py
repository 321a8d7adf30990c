"""What browser tests share besides fixtures: launching the system's Chromium, axe, screenshots,
signing in and waiting for the next page.

tests/browser/conftest.py hands out the drivers (`browser`, `phone`, `new_browser`) and the live
server; test modules import these helpers by name (`from browser_support import assert_accessible`),
as they import support.py.

Nothing here downloads anything. Selenium is given Debian's chromedriver and chromium by path, so
Selenium Manager (which would otherwise fetch a driver and a browser) is never started, and
SE_OFFLINE forbids it the network should a future Selenium call it anyway. axe-core is the file
scripts/vendor-static committed to tests/browser/vendor/.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = Path(__file__).resolve().parent / "browser" / "vendor" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# WCAG 2.0 and 2.1, levels A and AA: what the pages promise (and the Belgian public sector's EN 301 549).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
WINDOW = (1280, 900)
# A phone held upright (CSS pixels), emulated as a mobile device: a page without a viewport meta
# tag is laid out 980 pixels wide and shrunk, as on a real phone.
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
LANGUAGE = "en"

os.environ.setdefault("SE_OFFLINE", "true")


def chromium_version() -> str | None:
    """"Chromium 156.0.8078.129" when both the browser and its driver are installed, else None."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        return None
    try:
        # Debian's launcher script may complain on stderr about /dev/shm; the version is on stdout.
        output = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return " ".join(output.split()[:2]) or None


def launch(language: str = LANGUAGE, *, phone: bool = False) -> Any:
    """A new headless Chromium (1280x900, or a phone) whose pages and requests ask for `language`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root (CI too), where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        # Stable pictures: no scrollbars, sRGB.
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        # Nothing leaves the machine: no updates, sync, safe-browsing lists or first-run pings.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--password-store=basic",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            # The sign-in pages must not meet the password manager's bubbles.
            "credentials_enable_service": False,
            "profile.password_manager_enabled": False,
            "profile.password_manager_leak_detection": False,
        },
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    driver.set_page_load_timeout(30)
    set_language(driver, language)
    if phone:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    return driver


def set_language(driver: Any, language: str) -> None:
    """Ask for `language`, languages by preference without weights ("nl-BE,nl" is sent as
    Accept-Language: nl-BE,nl;q=0.9), and make its first navigator.language."""
    user_agent = driver.execute_cdp_cmd("Browser.getVersion", {})["userAgent"]
    driver.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent, "acceptLanguage": language})


def reset(driver: Any, *, language: str = LANGUAGE, phone: bool = False) -> None:
    """Make a shared driver as good as new for the next test: one blank tab, no cookies, no cache,
    no storage of the page it was on, the default size and `language`."""
    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    origin = driver.execute_script("return location.origin")
    if origin and origin != "null":
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    if phone:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(*WINDOW)
    set_language(driver, language)


def axe(driver: Any, context: str | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the current page (or the part `context` selects) for WCAG 2.0/2.1 A and AA;
    return its violations (dicts with id, impact, help, helpUrl, nodes[].target, nodes[].failureSummary).

    axe goes in through WebDriver (execute_script), which the page's Content-Security-Policy does
    not govern: a strict `script-src 'self'` page is checked as it is served, with no exception.
    """
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        """
        const [context, tags, done] = arguments;
        axe.run(context || document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
            .then(results => done({violations: results.violations}), error => done({error: String(error)}));
        """,
        context,
        list(WCAG_TAGS),
    )
    if "error" in result:
        raise RuntimeError(f"axe could not run: {result['error']}")
    return result["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per rule broken (id, impact, summary), and under it each element that breaks it."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def assert_accessible(driver: Any, context: str | None = None) -> None:
    """Fail, listing each violation, unless axe finds the page meets WCAG 2.1 A and AA."""
    violations = axe(driver, context)
    if violations:
        title = driver.title or driver.current_url
        raise AssertionError(f"{len(violations)} accessibility rule(s) broken on {title!r}:\n{describe(violations)}")


# A documentation picture shows a page's top this tall at most (a long record would be megabytes).
SCREENSHOT_MAX_HEIGHT = 2400


def screenshot(driver: Any, name: str, *, folder: Path = SCREENSHOTS) -> Path | None:
    """Save the whole page (not only the window, up to SCREENSHOT_MAX_HEIGHT pixels) as
    docs/screenshots/<name>.png, only when SAFESIGNAL_SCREENSHOTS=1: an ordinary run leaves the
    documentation alone. Returns the path."""
    if os.environ.get("SAFESIGNAL_SCREENSHOTS") != "1":
        return None
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"a screenshot's name is a plain file name: {name!r}")
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], SCREENSHOT_MAX_HEIGHT), "scale": 1}
    picture = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.write_bytes(base64.b64decode(picture["data"]))
    return path


def sign_in(driver: Any, base_url: str, person: Any, now: Any, *, target: str = "/") -> None:
    """Sign `person` (support.Person) in through the real pages: password, then the TOTP code at
    `now` (the app's clock), and open `target`. Each step waits for the next page to have loaded."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/sign-in?next={target}")
    driver.find_element(By.ID, "email").send_keys(person.email)
    driver.find_element(By.ID, "password").send_keys(person.password)
    submit(driver)
    assert "/sign-in/code" in driver.current_url, driver.current_url
    driver.find_element(By.ID, "code").send_keys(person.code(now))
    submit(driver)
    assert "/sign-in" not in driver.current_url, driver.current_url


def submit(driver: Any, selector: str = "main form button[type=submit]") -> None:
    """Click what `selector` finds (a form's button, a link) and wait until the next page has loaded.

    The page is marked first (a window property, which only this page has), so the wait ends on
    a page loaded after the click, never on the old one still showing: reading the old page's
    elements as it goes would fail on a stale element now and then.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.previousPage = true")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    # A script run while the page changes may fail: that is not the next page yet, so wait on.
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(lambda d: d.execute_script(
        "return window.previousPage === undefined && document.readyState === 'complete'"))


def wait_for_path(driver: Any, path: str) -> None:
    """Wait until the browser shows the page at a URL whose path ends with `path` (any query string aside)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10).until(lambda d: d.current_url.split("?")[0].endswith(path))
