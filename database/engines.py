"""Engines for SQLite and PostgreSQL, and the SQLite writer queue.

The same code runs on the embedded SQLite database (WAL, synchronous=FULL: an acknowledged write is
on disk) and on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from database.base import READ_ONLY


class _QueuedWriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on an OS file lock.

    SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps 1, 2,
    5, 10 ... ms between tries, so two gunicorn workers writing small transactions spend more
    time asleep than working (bench/intake.py: single-report intake fell by a quarter with a
    second worker). An exclusive flock() taken before BEGIN IMMEDIATE and released after COMMIT
    or ROLLBACK makes writers wait in the kernel and wake the moment the lock is free. Readers
    never take it (WAL readers do not block). Processes that do not use this class still meet
    SQLite's own lock and busy timeout, so correctness never depends on the file lock.

    The wait has no timeout, on purpose: the lock is held only inside this service's own write
    transactions, which wait on nothing but the disk, so a writer queues until it is its turn;
    a migration holds it for as long as it runs, and writers resume after it rather than fail.
    A request stuck longer than gunicorn's worker timeout is ended by gunicorn.
    """

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._lock_fd: int | None = None
        self._locked = False
        name = str(database)
        if name and name != ":memory:" and not name.startswith("file:"):
            self._lock_fd = os.open(name + "-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def lock_for_write(self) -> None:
        if self._lock_fd is not None and not self._locked:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._locked = True

    def unlock(self) -> None:
        if self._locked:
            self._locked = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)  # type: ignore[arg-type]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.unlock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.unlock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.unlock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite enable WAL, durable commits, foreign keys and write transactions."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).setdefault("factory", _QueuedWriterConnection)
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
        # 64 MiB of page cache per connection (SQLite's default is 2 MiB): the hot end of the
        # indexes stays in memory as tables grow.
        cursor.execute("PRAGMA cache_size=-65536")
        # Deleted content is overwritten with zeros, not left in free pages of the file: what
        # retention deletes (and a destroyed data key in the vault) is gone from the disk too.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another process writes meanwhile; taking the write lock up front makes
        # concurrent workers queue on busy_timeout instead. Transactions marked read-only
        # (authentication, for one) take no lock: WAL readers never wait for writers.
        # Straight to the driver: this runs for every transaction, and SQLAlchemy's statement
        # machinery would cost more than the BEGIN itself.
        dbapi_connection = connection.connection.dbapi_connection
        if connection.get_execution_options().get(READ_ONLY):
            dbapi_connection.execute("BEGIN")
            return
        if isinstance(dbapi_connection, _QueuedWriterConnection):
            dbapi_connection.lock_for_write()
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_connection, _QueuedWriterConnection):
                dbapi_connection.unlock()
            raise


def checkpoint_wal(engine: Engine) -> None:
    """Run a passive SQLite WAL checkpoint outside any transaction, on the driver's connection:
    it copies what it can back from the log without waiting for anyone.

    (Emptying the log for good, which must know whether it succeeded, is the vault's own:
    service.vault.store.)
    """
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
    finally:
        raw.close()


def new_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (responses are built after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
