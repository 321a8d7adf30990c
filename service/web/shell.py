"""What spans every page: language, sessions, CSRF, security headers and HTML error pages.

- Language: the person's saved choice, else the one chosen in this browser, else the browser's
  Accept-Language among nl, fr, de and en, else English. Each page package's translations/
  folder joins the catalogues (Flask-Babel merges them).
- Sessions: Flask's signed cookie holds only the CSRF secret, the language, a sign-in in
  progress and the id of a server-side session (service.people): the server decides whether that
  id is still valid (idle and absolute lifetime, revocation), so signing out everywhere needs no
  cookie. The cookie is HttpOnly, SameSite=Strict, Secure (`__Host-` prefixed) unless
  SAFESIGNAL_WEB_COOKIE_SECURE is false.
- CSRF: every POST to a page needs the form's token (Flask-WTF), whatever view it reaches.
- Headers on every page and its static files: a Content-Security-Policy without inline script or style and without
  any other origin, frame-ancestors 'none', no referrer (an invitation link carries a token), and
  on every page `no-store`, so a shared counter computer keeps nothing of a page in its cache.
- Errors: the API keeps its JSON error shape; a page gets an HTML error page in the person's
  language.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_babel import Babel, refresh
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from service import per_request
from service.web.pages import PageBlueprint, Viewer

LANGUAGES = ("nl", "fr", "de", "en")
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "de": "Deutsch", "en": "English"}
# Paths that belong to the API (JSON errors); everything else is a page or its static files.
API_PREFIXES = ("/v1/", "/openapi")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

ROLE_NAMES = {
    "pharmacy": _l("Pharmacy"),
    "coordinator": _l("Field service coordinator"),
    "analyst": _l("Prevention service"),
    "dpo": _l("Data-protection officer"),
    "admin": _l("Operator"),
}

csrf = CSRFProtect()


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def language() -> str:
    person = g.get("viewer")
    if person is not None and person.language in LANGUAGES:
        return person.language
    chosen = session.get("lang") if not is_api_path(request.path) else None
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def _page_blueprints(app: Flask) -> list[PageBlueprint]:
    return [blueprint for blueprint in app.blueprints.values() if isinstance(blueprint, PageBlueprint)]


def install(app: Flask) -> None:
    """Make the page blueprints a site: called by create_app once every blueprint is registered."""
    state = app.extensions["safesignal"]
    secure = bool(app.config["WEB_COOKIE_SECURE"])
    app.config.update(
        SECRET_KEY=state.web_secret,
        SESSION_COOKIE_NAME="__Host-safesignal" if secure else "safesignal",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=app.config["PEOPLE_SESSION_HOURS"]),
        WTF_CSRF_CHECK_DEFAULT=False,
        # A form's token lives as long as the session: an idle page may stay open up to the idle limit.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_DEFAULT_TIMEZONE=app.config["SIGNALS_TIME_ZONE"],
        BABEL_TRANSLATION_DIRECTORIES=";".join(_translation_folders(app)),
    )
    Babel(app, locale_selector=language)
    csrf.init_app(app)
    pages = _page_blueprints(app)
    app.extensions["safesignal_nav"] = [entry for blueprint in pages for entry in blueprint.entries]
    app.before_request(_fresh_request)
    for blueprint in pages:
        app.before_request_funcs.setdefault(blueprint.name, []).extend([_load_viewer, _protect])
    app.after_request(_headers)
    app.context_processor(_template_context)
    _html_errors(app)


def _translation_folders(app: Flask) -> list[str]:
    folders = []
    for blueprint in _page_blueprints(app):
        folder = Path(blueprint.root_path) / "translations"
        if folder.is_dir() and str(folder) not in folders:
            folders.append(str(folder))
    return folders


def _fresh_request() -> None:
    # What Flask-WTF and Flask-Babel cache on the application context, and what this module
    # puts there, belongs to one request: an app context that outlives requests (a test's, a
    # CLI's) must not carry one request's CSRF token, language or person into the next.
    for name in ("csrf_token", "viewer", "session_ended"):
        g.pop(name, None)
    refresh()


def _protect() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _load_viewer() -> None:
    """Who is signed in: the session id in the cookie, checked against the server's sessions."""
    from service.people import services

    g.viewer = None
    sid = session.get("sid")
    if not sid:
        return
    state = current_app.extensions["safesignal"]
    db = per_request.session()
    found = services.session_person(db, state.accounts, sid, state.clock())
    db.commit()
    if found is None:
        # Expired, signed out elsewhere or revoked: this browser starts again from nothing.
        session.clear()
        g.session_ended = True
        return
    person, organisation = found
    g.viewer = Viewer(person.id, organisation.id, organisation.name, services.role_of(organisation),
                      organisation.area, person.language)


def _headers(response: Response) -> Response:
    # The API's answers keep their own headers (service.http): JSON is never rendered, and the
    # tracing answers must look alike to the byte.
    if is_api_path(request.path):
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not (request.endpoint or "").endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


def _template_context() -> dict[str, Any]:
    person = g.get("viewer")
    entries = current_app.extensions.get("safesignal_nav", [])
    nav = [entry for entry in entries if person is not None and person.role in entry.roles]
    return {
        "viewer": person,
        "nav": nav,
        "languages": LANGUAGE_NAMES,
        "current_language": language(),
        "role_names": ROLE_NAMES,
    }


def _html_errors(app: Flask) -> None:
    """Pages answer errors in HTML; the API's handler (flask-smorest's, JSON) keeps the rest."""
    api_handler = app.error_handler_spec[None][None].get(HTTPException)

    def handle(error: HTTPException) -> Any:
        if is_api_path(request.path) and api_handler is not None:
            return api_handler(error)
        return error_page(error)

    app.register_error_handler(HTTPException, handle)
    app.register_error_handler(CSRFError, handle)
    # An unexpected exception reaches `handle` as Flask's InternalServerError (its handle_exception).


def error_page(error: HTTPException) -> Response:
    code = error.code or 500
    if not hasattr(g, "viewer"):
        g.viewer = None
    response = Response(render_template("web/error.html", code=code, csrf_failed=isinstance(error, CSRFError)),
                        status=code, mimetype="text/html")
    for name, value in error.get_headers():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response
