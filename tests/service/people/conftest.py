"""What the people tests share: an organisation, a person taken through the invitation, and
every value the databases hold (to look for what must not be there)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pyotp
import pytest
from sqlalchemy import MetaData, select

from service.models import metadata
from service.people.services import confirm_totp, invite, new_totp, set_password
from service.vault.models import VaultBase

PASSWORD = "correct horse battery staple"


@pytest.fixture
def state(app):  # type: ignore[no-untyped-def]
    return app.extensions["safesignal"]


@pytest.fixture
def organisation(partners) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A prevention service (its people are analysts)."""
    organisation_id, _ = partners.add("prevention_service", "Preventiedienst Test")
    return uuid.UUID(organisation_id)


@pytest.fixture
def enrol(state, clock, organisation) -> Callable[..., tuple[uuid.UUID, str]]:  # type: ignore[no-untyped-def]
    """Take a person through the invitation (password, second factor) at the clock's time;
    return the person's id and TOTP secret."""

    def enrol(email: str, password: str = PASSWORD, organisation_id: uuid.UUID | None = None) -> tuple[uuid.UUID, str]:
        with state.sessions() as session:
            person, _ = invite(session, state.accounts, organisation_id=organisation_id or organisation, email=email,
                               now=clock.now)
            set_password(person, state.accounts, password)
            secret = new_totp(person, state.accounts)
            assert confirm_totp(session, person, state.accounts, pyotp.TOTP(secret).at(clock.now), clock.now)
            session.commit()
            return person.id, secret

    return enrol


def _values(engine, tables: MetaData) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in zip(table.columns, row):
                    yield f"{table.name}.{column.name}", value


def _holders(values: list[tuple[str, object]], needles: tuple[str | bytes, ...]) -> list[str]:
    found = []
    for column, value in values:
        if value is None:
            continue
        raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
        found += [column for needle in needles if (needle.encode() if isinstance(needle, str) else needle) in raw]
    return found


@pytest.fixture
def stored_in(state) -> Callable[..., list[str]]:  # type: ignore[no-untyped-def]
    """The columns of the main database and of the key vault, read now, whose value holds any of
    the needles (text searched as UTF-8 in text and in bytes, bytes as bytes)."""

    def stored_in(*needles: str | bytes) -> list[str]:
        values = [*_values(state.engine, metadata), *_values(state.keys_engine, VaultBase.metadata)]
        return _holders(values, needles)

    return stored_in


@pytest.fixture
def password() -> str:
    return PASSWORD
