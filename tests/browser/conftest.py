"""Browser fixtures: the real app over real HTTP, driven by the system's headless Chromium.

- `live_server`: the test's app (tests/conftest.py's `app`, so on SQLite and on PostgreSQL) served
  on 127.0.0.1 on a free port by a werkzeug thread; `.url`, `.app`, `.clock`, `.errors`.
- `browser`: a headless Chromium, 1280x900, asking for `browser_language` ("en"; parametrize or
  override that fixture for another). One Chromium serves every test of the session (starting one
  takes about half a second); each test gets it reset: one blank tab, no cookies, cache or storage.
- `phone`: likewise, a second shared Chromium emulating a 390x844 phone (touch, mobile viewport).
- `new_browser(language=..., phone=...)`: a Chromium of the test's own, quit at its end (two people
  at once, or a language set at launch).
- `axe`, `assert_accessible`, `screenshot`: browser_support's helpers, as fixtures.

Every test in tests/browser is marked `browser`. Without /usr/bin/chromium and /usr/bin/chromedriver
they are all skipped for one reason, which the summary counts; with SAFESIGNAL_TEST_BROWSER=required
(.ci/run sets it) the run stops instead, as a CI that skipped them would be lying.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import browser_support
from support import Clock

HERE = Path(__file__).resolve().parent
REQUIRED = os.environ.get("SAFESIGNAL_TEST_BROWSER", "") == "required"
BROWSER_SKIP = "Chromium not found: install chromium and chromium-driver (apt)"
VERSION = browser_support.chromium_version()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = []
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser"):
            chosen.append(item)
    if not chosen or VERSION:
        return
    if REQUIRED:
        pytest.exit(f"SAFESIGNAL_TEST_BROWSER=required but {BROWSER_SKIP}", returncode=3)
    for item in chosen:
        item.add_marker(pytest.mark.skip(reason=BROWSER_SKIP))


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if VERSION:
        terminalreporter.write_line(f"browser: {VERSION}", green=True)
        return
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if BROWSER_SKIP in str(r.longrepr)]
    terminalreporter.write_line(
        f"browser: Chromium not found, {len(skipped)} browser tests SKIPPED: install chromium and chromium-driver (apt)",
        yellow=True,
    )


class _QuietHandler(WSGIRequestHandler):
    """No access log, and no client address in the error log (as service/gunicorn.py keeps them out).

    HTTP/1.0: each response closes its connection, so no idle keep-alive thread outlives the test.
    """

    protocol_version = "HTTP/1.0"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def address_string(self) -> str:
        return "[address]"


@dataclass
class LiveServer:
    """The app under test, listening at `url` (http://127.0.0.1:PORT, no trailing slash)."""

    url: str
    app: Any
    clock: Clock
    # Exceptions the app raised while serving: the test fails at teardown unless it clears them.
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture
def live_server(app, clock: Clock) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The test's app served over HTTP by a background thread, on each database (tests/conftest.py)."""
    errors: list[BaseException] = []

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return app(environ, start_response)
        except Exception as error:
            errors.append(error)
            raise

    server = make_server("127.0.0.1", 0, application, threaded=True, request_handler=_QuietHandler)
    # A short poll: shutdown() waits for the loop's next look, half a second by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True)
    thread.start()
    live = LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, clock=clock, errors=errors)
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    if live.errors:
        shown = "".join(traceback.format_exception(live.errors[0]))
        pytest.fail(f"the live server raised {len(live.errors)} exception(s) while serving; the first:\n{shown}")


class _Chromiums:
    """The session's shared drivers, launched when a test first asks, quit when the session ends."""

    def __init__(self) -> None:
        self.drivers: dict[str, Any] = {}

    def get(self, kind: str, language: str) -> Any:
        phone = kind == "phone"
        driver = self.drivers.get(kind)
        if driver is not None:
            try:
                browser_support.reset(driver, language=language, phone=phone)
                return driver
            except Exception:  # noqa: BLE001 - a driver a test crashed or closed: start another
                self._quit(kind)
        self.drivers[kind] = driver = browser_support.launch(language, phone=phone)
        return driver

    def _quit(self, kind: str) -> None:
        driver = self.drivers.pop(kind)
        try:
            driver.quit()
        except Exception:  # noqa: BLE001 - already gone
            pass

    def quit_all(self) -> None:
        for kind in list(self.drivers):
            self._quit(kind)


@pytest.fixture(scope="session")
def _chromiums() -> Iterator[_Chromiums]:
    chromiums = _Chromiums()
    yield chromiums
    chromiums.quit_all()


@pytest.fixture
def browser_language() -> str:
    """The Accept-Language of `browser` and `phone`; parametrize or override it for another."""
    return browser_support.LANGUAGE


@pytest.fixture
def browser(_chromiums: _Chromiums, browser_language: str) -> Any:
    """The session's desktop Chromium (1280x900), reset for this test."""
    return _chromiums.get("desktop", browser_language)


@pytest.fixture
def phone(_chromiums: _Chromiums, browser_language: str) -> Any:
    """The session's phone Chromium (390x844, touch, mobile viewport), reset for this test."""
    return _chromiums.get("phone", browser_language)


@pytest.fixture
def new_browser() -> Iterator[Callable[..., Any]]:
    """Launch Chromiums of this test's own: new_browser(language="nl-BE", phone=False)."""
    launched: list[Any] = []

    def launch(language: str = browser_support.LANGUAGE, *, phone: bool = False) -> Any:
        driver = browser_support.launch(language, phone=phone)
        launched.append(driver)
        return driver

    yield launch
    for driver in launched:
        driver.quit()


@pytest.fixture
def axe() -> Callable[..., list[dict[str, Any]]]:
    """axe(driver, context=None): the WCAG 2.0/2.1 A and AA violations on the current page."""
    return browser_support.axe


@pytest.fixture
def assert_accessible() -> Callable[..., None]:
    """assert_accessible(driver, context=None): fail with each violation listed."""
    return browser_support.assert_accessible


@pytest.fixture
def screenshot() -> Callable[..., Path | None]:
    """screenshot(driver, name): docs/screenshots/<name>.png, when SAFESIGNAL_SCREENSHOTS=1."""
    return browser_support.screenshot
