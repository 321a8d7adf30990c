"""What every page package builds on: its blueprint, the role check, and who is signed in.

A page package (the pharmacy counter, the dashboard, ...) makes a `PageBlueprint`, declares its
menu entries with `nav()`, and guards each view with `@page(*roles)`:

    blp = PageBlueprint("counter", __name__, url_prefix="/counter")
    blp.nav("counter.index", _l("Counter"), roles=("pharmacy",))

    @blp.route("/")
    @page("pharmacy")
    def index(): ...

`@page` sends a person who is not signed in to the sign-in page (and back afterwards) and answers
403 to a role the page is not for, so the role x page matrix is decided in one place. The views
call the same services as the API, with the signed-in person's organisation: a page can show or
spend nothing the API would not give that organisation.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: Any  # a lazy translated string
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as the services need it (the API's Principal, for a person)."""

    person_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    role: str
    area: str | None
    language: str | None

    @property
    def actor(self) -> str:
        """How the audit log names this person: by id, never by name."""
        return f"person:{self.person_id}"


class PageBlueprint(Blueprint):
    """A blueprint of web pages, with its templates/ and static/ folders and menu entries."""

    def __init__(self, name: str, import_name: str, **kwargs: Any):
        kwargs.setdefault("template_folder", "templates")
        super().__init__(name, import_name, **kwargs)
        # Its static files, if it has any, under /static/<name>/ (served with the page's CSP).
        if self.static_folder is None and os.path.isdir(os.path.join(self.root_path, "static")):
            self.static_folder = "static"
            self.static_url_path = f"/static/{name}"
        self.entries: list[NavEntry] = []

    def nav(self, endpoint: str, label: Any, roles: tuple[str, ...]) -> None:
        """A menu entry, shown to `roles`; the first entry of a role is where it lands after sign-in."""
        self.entries.append(NavEntry(endpoint, label, roles))


def viewer() -> Viewer | None:
    """The signed-in person of this request, if any."""
    return g.get("viewer")


def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Only for signed-in people holding one of `roles`: others sign in first, or get 403."""
    allowed = frozenset(roles)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            person = viewer()
            if person is None:
                return redirect(sign_in_url(_local_path()))
            if person.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.page_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator


def id_or_404(value: str) -> uuid.UUID:
    """The id a page's path names, or 404: a path with an id that cannot exist names no page."""
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def confirmation(form: Any, *, title: str, explanation: str, button: str, back: str) -> str:
    """The page that asks before an action cannot be undone (a revocation): `title` as its question,
    `explanation`, a `button` that posts `form` (its CSRF token only) back to this URL, and Cancel to `back`.

    Asking changes nothing: the view acts only on the POST, so following a link never revokes."""
    return render_template("web/confirm.html", form=form, title=title, explanation=explanation, button=button, back=back)


def sign_in_url(next_path: str | None = None) -> str:
    """The sign-in page, saying so when this browser's session has just ended."""
    return url_for("web.sign_in", next=next_path, ended=1 if g.get("session_ended") else None)


def _local_path() -> str | None:
    # Only a GET page is worth coming back to; a form post is not replayed after sign-in.
    if request.method != "GET":
        return None
    return request.full_path.rstrip("?") if request.query_string else request.path


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (never another origin: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 0x20 for char in target):
        return None
    return target
