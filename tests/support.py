"""What tests share besides fixtures: a frozen clock, partners registered through the CLI, a bearer
header, people signed in through the pages, a local SMTP server.

A module of its own (tests/ is on pytest's pythonpath), so test modules import these by name
(`from support import bearer`) instead of from conftest, which pytest loads as a plugin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp

START = dt.datetime(2026, 11, 29, 10, 17, 30, 123456, tzinfo=dt.timezone.utc)


class Clock:
    """A frozen, movable UTC clock injected into the app."""

    def __init__(self, now: dt.datetime = START):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def monotonic(self) -> float:
        """Seconds elapsed, for what must not follow the wall clock (the credential cache)."""
        return (self.now - START).total_seconds()


class Partners:
    """Registers partners through the operator's CLI, as an operator would."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app
        self.runner = app.test_cli_runner()

    def run(self, *args: str) -> str:
        result = self.runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    def add(self, kind: str, name: str, area: str | None = None) -> tuple[str, str | None]:
        """Register an organisation; return its id and its token (None for a field service)."""
        args = ["partners", "add", "--kind", kind, "--name", name]
        if area is not None:
            args += ["--area", area]
        output = self.run(*args)
        organisation_id = output.split()[1]
        token = output.rsplit(": ", 1)[1].strip() if "token" in output else None
        return organisation_id, token

    def area(self, index: int = 0) -> str:
        return self.app.extensions["safesignal"].intake.areas.areas()[index].code

    def pharmacy(self, name: str = "Apotheek Test") -> str:
        """A pharmacy's token."""
        _, token = self.add("pharmacy", name, self.area())
        assert token
        return token

    def enroll_code(self, organisation_id: str, label: str = "tablet 1") -> str:
        output = self.run("devices", "enroll-code", "--org", organisation_id, "--label", label)
        return output.rsplit(": ", 1)[1].strip()

    def device(self, client, organisation_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
        """Enroll a field device over HTTP; return its token."""
        if organisation_id is None:
            organisation_id, _ = self.add("field_service", "Straathoekwerk Test")
        code = self.enroll_code(organisation_id)
        response = client.post("/v1/devices/enroll", json={"code": code})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def is_signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    """Whether the start page knows this client's person (it sends anybody else to sign in)."""
    response = client.get("/")
    return not (response.status_code == 302 and response.headers["Location"].startswith("/sign-in"))


@dataclass(frozen=True)
class Person:
    id: str
    organisation_id: str
    email: str
    password: str
    totp_secret: str

    def code(self, at: dt.datetime) -> str:
        return pyotp.TOTP(self.totp_secret).at(at)


# The kind of organisation each person role belongs to.
KIND_OF_ROLE = {"pharmacy": "pharmacy", "coordinator": "field_service", "analyst": "prevention_service",
                "dpo": "dpo_office", "admin": "operator"}


class People:
    """People with accounts, made through the real services (invitation, password, TOTP), and
    signed in through the real pages."""

    def __init__(self, app, partners: Partners):  # type: ignore[no-untyped-def]
        self.app = app
        self.partners = partners
        self.count = 0

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.app.extensions["safesignal"]

    def organisation(self, role: str) -> str:
        kind = KIND_OF_ROLE[role]
        area = self.partners.area() if kind == "pharmacy" else None
        organisation_id, _ = self.partners.add(kind, f"Test {kind}", area)
        return organisation_id

    def create(self, role: str = "pharmacy", organisation_id: str | None = None, email: str | None = None,
               language: str | None = None) -> Person:
        """An active person of `role` (in a new organisation of its kind unless given)."""
        from service.people import services

        organisation_id = organisation_id or self.organisation(role)
        self.count += 1
        email = email or f"person{self.count}@example.org"
        now = self.state.clock()
        with self.state.sessions() as session:
            person, _ = services.invite(session, self.state.accounts, organisation_id=uuid.UUID(organisation_id),
                                        email=email, now=now)
            services.set_password(person, self.state.accounts, PASSWORD)
            secret = services.new_totp(person, self.state.accounts)
            # The previous step's code (still accepted), so that the current one signs in at once.
            assert services.confirm_totp(session, person, self.state.accounts,
                                         pyotp.TOTP(secret).at(now - dt.timedelta(seconds=30)), now)
            if language:
                person.language = language
            session.commit()
            return Person(str(person.id), organisation_id, email, PASSWORD, secret)

    def sign_in(self, client, person: Person) -> None:  # type: ignore[no-untyped-def]
        """Sign in through the pages: password, then the current TOTP code."""
        page = client.get("/sign-in")
        response = client.post("/sign-in", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                  "email": person.email, "password": person.password})
        assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in/code"), response.status_code
        page = client.get("/sign-in/code")
        response = client.post("/sign-in/code", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                       "code": person.code(self.state.clock())})
        assert response.status_code == 302, response.get_data(as_text=True)[-500:]

    def signed_in(self, role: str = "pharmacy", **kwargs):  # type: ignore[no-untyped-def]
        """A test client signed in as a new person of `role`, and that person."""
        person = self.create(role, **kwargs)
        client = self.app.test_client()
        self.sign_in(client, person)
        return client, person


class Inbox:
    """An aiosmtpd handler that keeps what it receives: (recipients, message) pairs."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    """A local TCP port nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # type: ignore[no-any-return]


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Any, Inbox]]:
    """A real SMTP server (aiosmtpd) on a free local port, without TLS: its controller (`.port`)
    and the inbox of what it receives; stopped on exit."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
