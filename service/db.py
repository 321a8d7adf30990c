"""Database: the declarative base, engines for SQLite and PostgreSQL, one session per request.

The same code runs on the embedded SQLite database (WAL, synchronous=FULL: an acknowledged write is
on disk) and on PostgreSQL. Timestamps are stored timezone-aware in UTC on both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from sqlalchemy import Connection, Date, DateTime, Engine, MetaData, String, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
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
# Table info key: (key columns, summed columns). GroupCommit writes such a table as an upsert
# that adds the summed columns to an existing row with the same key.
ACCUMULATE = "accumulate"


def upsert_insert(dialect_name: str) -> Callable[..., Any]:
    """The INSERT construct of a dialect, the one with ON CONFLICT: PostgreSQL's or SQLite's."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


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


def checkpoint_wal(engine: Engine, mode: str = "PASSIVE") -> None:
    """Run a SQLite WAL checkpoint outside any transaction, on the driver's connection.

    PASSIVE copies what it can without waiting for anyone; TRUNCATE also empties the log file
    when no reader holds it (best effort: with a reader active it does what PASSIVE does).
    """
    if mode not in ("PASSIVE", "TRUNCATE"):
        raise ValueError("mode must be PASSIVE or TRUNCATE")
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})")  # type: ignore[union-attr]
    finally:
        raw.close()


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


class _PreparedInsert:
    """An INSERT of every column of a table, compiled once, with the dialect's own conversions.

    SQLAlchemy converts each value of each row on every execution; for a batch of 500 reports that
    bookkeeping cost more than the database's own work (bench/intake.py, profiled). This applies
    the same bind processors SQLAlchemy would, and remembers the converted form of values that
    repeat across rows (the hours, the epoch, category and area codes), then hands the rows to the
    driver's executemany through `exec_driver_sql`, so engine events and logging still see it.
    """

    def __init__(self, table: Table, dialect: Any):
        statement: Any = table.insert()
        accumulate = table.info.get(ACCUMULATE)
        if accumulate is not None:
            keys, sums = accumulate
            upsert = upsert_insert(dialect.name)(table)
            statement = upsert.on_conflict_do_update(
                index_elements=list(keys), set_={name: table.c[name] + upsert.excluded[name] for name in sums}
            )
        # Columns with a server-side default (an autoincrement key) are left to the database.
        columns = [column.key for column in table.c if not _generated(column)]
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.statement = str(compiled)
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup) if compiled.positional else columns  # type: ignore[arg-type]
        self._columns = []
        for name in names:
            column = table.c[name]
            processor = column.type.dialect_impl(dialect).bind_processor(dialect)
            kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
            repeats = isinstance(kind, (String, Date, DateTime))
            self._columns.append((name, processor, repeats))

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        """The rows in the driver's form: tuples for positional paramstyles, dicts otherwise."""
        memo: dict[tuple[str, Any], Any] = {}
        converted = []
        for row in rows:
            values = []
            for name, processor, repeats in self._columns:
                value = row[name]
                if processor is not None and value is not None:
                    if repeats:
                        key = (name, value)
                        if key not in memo:
                            memo[key] = processor(value)
                        value = memo[key]
                    else:
                        value = processor(value)
                values.append(value)
            converted.append(tuple(values) if self._positional else dict(zip((c[0] for c in self._columns), values)))
        return converted


def _generated(column: Any) -> bool:
    """Whether the database fills this column itself (an integer autoincrement primary key)."""
    return column.primary_key and column.autoincrement is True


def _accumulated(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of an accumulating table merged by key and sorted: every transaction then takes the
    key locks in one order, so two processes adding to the same cells cannot deadlock."""
    keys, sums = table.info[ACCUMULATE]
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        if key in merged:
            for name in sums:
                merged[key][name] += row[name]
        else:
            merged[key] = dict(row)
    return [merged[key] for key in sorted(merged)]


@dataclass(eq=False)
class _Entry:
    writes: Sequence[tuple[Table, list[dict[str, Any]]]]
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Commit the writes of concurrent requests together: one transaction, one fsync, for many.

    A commit per request is what limits small-request intake: the BEGIN/COMMIT round and the
    durable flush cost more than the insert. Leader/follower, as databases do their own group
    commit: a request that finds no commit under way becomes the leader and commits every
    entry waiting at that moment in one transaction; requests arriving meanwhile wait and go
    in the next group. Nothing is acknowledged before its group is durable, and each entry is
    all-or-nothing: when a group fails (a unique constraint, say), each of its entries is
    retried in a transaction of its own, so one request's conflict never fails another's.
    Under a sync worker (one request at a time) every group is one entry: a plain commit.
    """

    def __init__(self, engine: Engine):
        self._engine = engine
        self._condition = threading.Condition()
        self._pending: list[_Entry] = []
        self._leading = False
        self._inserts: dict[Table, _PreparedInsert] = {}
        self._autocommit_single_rows = engine.dialect.name == "postgresql"

    def write(self, writes: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
        """Insert `rows` into each table, durably, as one unit; return once committed."""
        entry = _Entry(writes)
        group: list[_Entry] = []
        with self._condition:
            self._pending.append(entry)
            while self._leading and not entry.done:
                self._condition.wait()
            if not entry.done:  # lead: take everything waiting, this entry included
                self._leading = True
                group, self._pending = self._pending, []
        if group:
            try:
                self._commit(group)
            finally:
                with self._condition:
                    self._leading = False
                    self._condition.notify_all()
        if entry.error is not None:
            raise entry.error

    def _commit(self, group: list[_Entry]) -> None:
        try:
            self._transaction(group)
        except BaseException as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for entry in group:
                    try:
                        self._transaction([entry])
                    except BaseException as own:  # noqa: BLE001 - handed to the entry's request
                        entry.error = own
        finally:
            for entry in group:
                entry.done = True

    def _transaction(self, group: list[_Entry]) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for entry in group:
            for table, rows in entry.writes:
                by_table.setdefault(table, []).extend(rows)
        writes = [
            (self._insert(table), _accumulated(table, rows) if ACCUMULATE in table.info else rows)
            for table, rows in by_table.items() if rows
        ]
        if self._autocommit_single_rows and len(writes) == 1 and len(writes[0][1]) == 1:
            # One row into one table is one statement, atomic by itself: on PostgreSQL, running it
            # in autocommit saves the BEGIN and COMMIT round trips (a third of a single report's
            # write). The commit is as durable as any other.
            insert, rows = writes[0]
            with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql(insert.statement, insert.parameters(rows)[0])
            return
        with self._engine.begin() as connection:
            for insert, rows in writes:
                connection.exec_driver_sql(insert.statement, insert.parameters(rows))

    def _insert(self, table: Table) -> _PreparedInsert:
        insert = self._inserts.get(table)
        if insert is None:
            insert = self._inserts[table] = _PreparedInsert(table, self._engine.dialect)
        return insert


def new_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (responses are built after commit)."""
    return sessionmaker(engine, expire_on_commit=False)
