"""Database: the declarative base, engines for SQLite and PostgreSQL, one session per request.

The same code runs on the embedded SQLite database (WAL, synchronous=FULL: an acknowledged write is
on disk) and on PostgreSQL. Timestamps are stored timezone-aware in UTC on both.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC timestamps only")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    """Base of every model. Each model names its retention data class in `__data_class__`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Execution option for a transaction that will only read (see _configure_sqlite).
READ_ONLY = "safesignal_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite enable WAL, durable commits, foreign keys and write transactions."""
    # hide_parameters: an exception message must never carry report content or tokens.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so we can say BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit acknowledged to a client survives a power cut, not just a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another process writes meanwhile; taking the write lock up front makes
        # concurrent workers queue on busy_timeout instead. Transactions marked read-only
        # (authentication, for one) take no lock: WAL readers never wait for writers.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def session() -> Session:
    """The request's session, opened on first use and closed on teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["safesignal"].sessions()
    return g.db_session


def read_session() -> Session:
    """The request's session, for a read that ends with a commit before anything is written."""
    db_session = session()
    if not db_session.in_transaction():
        db_session.connection(execution_options={READ_ONLY: True})
    return db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown: roll back anything uncommitted and release the connection."""
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Commit the request's session after the view succeeds; retry once on a lost race.

    A unique-constraint violation at commit means a concurrent request stored the same
    submission first: the retry runs the view again and finds it, so the client gets the
    original result instead of an error.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                result = view(*args, **kwargs)
                session().commit()
                return result
            except exc.IntegrityError:
                session().rollback()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return wrapper


def new_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (responses are built after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
