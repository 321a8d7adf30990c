"""The database session of a request: opened on first use, committed by `transactional`, closed on teardown."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app, g
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from database.base import READ_ONLY


def session() -> Session:
    """The request's session, opened on first use and closed on teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["safesignal"].sessions()
    return g.db_session


def read_connection() -> Connection:
    """A pooled connection for a short read outside the request's session (no write lock on SQLite)."""
    return current_app.extensions["safesignal"].engine.connect().execution_options(**{READ_ONLY: True})


@contextlib.contextmanager
def read_session() -> Iterator[Session]:
    """A session on a read-only connection (no write lock on SQLite), closed on exit."""
    connection = read_connection()
    try:
        with Session(bind=connection) as reading:
            yield reading
    finally:
        connection.close()


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: roll back anything uncommitted and release the connection."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Commit the request's session after the view succeeds (teardown rolls back otherwise)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = view(*args, **kwargs)
        session().commit()
        return result

    return wrapper

