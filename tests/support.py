"""What tests share besides fixtures: a frozen clock, partners registered through the CLI, a bearer header.

A module of its own (tests/ is on pytest's pythonpath), so test modules import these by name
(`from support import bearer`) instead of from conftest, which pytest loads as a plugin.
"""

from __future__ import annotations

import datetime as dt

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
