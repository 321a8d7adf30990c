"""A lease so that exactly one retention run works at a time, across processes and hosts.

On PostgreSQL a session-level advisory lock, held on a connection of its own for the whole run:
the server releases it the moment that connection ends, so a killed process never blocks the
next run. On SQLite (one host by nature) a row in the `lease` table: taken with a conditional
UPDATE, renewed between batches, and free once it expires or once its holder's process on this
host has died.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, or_, text, update
from sqlalchemy.exc import IntegrityError

from retention.errors import RetentionError
from retention.holdings import Holding
from retention.models import Lease
from retention.policy import Expiry

# Retention's own data class: the lease rows, deleted once expired (last in a run's order).
HOLDINGS: tuple[Holding, ...] = (
    Holding("leases", "main", Lease.__table__, Lease.__table__.c.expires_at,  # type: ignore[arg-type]
            "the lease's expiry", frozenset({Expiry.DELETE})),
)


class LeaseLost(RetentionError):
    """Another process took the lease (ours had expired): stop working at once."""


class JobLease(Protocol):
    def acquire(self) -> bool: ...
    def renew(self) -> None: ...
    def release(self) -> None: ...
    @property
    def holder(self) -> str: ...


def new_holder() -> str:
    """host:pid:random, naming a process, never a person."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class AdvisoryLease:
    """pg_try_advisory_lock on a dedicated connection."""

    def __init__(self, engine: Engine, name: str):
        self._engine = engine
        self._key = int.from_bytes(hashlib.sha256(f"safesignal/{name}".encode()).digest()[:8], "big", signed=True)
        self._connection: Connection | None = None
        self.holder = new_holder()

    def acquire(self) -> bool:
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar():
            self._connection = connection
            return True
        connection.close()
        return False

    def renew(self) -> None:
        # Held for as long as the session lives. A session the server ended (a restart,
        # idle_session_timeout) still looks open from here, so ask it: the query fails if it is gone.
        if self._connection is None:
            raise LeaseLost("the lease is not held")
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means the lock may be gone
            raise LeaseLost(f"the lease's session failed: {type(error).__name__}") from None

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            finally:
                self._connection.close()
                self._connection = None


def _process_gone(holder: str | None) -> bool:
    """True if `holder` names a process on this host that no longer runs."""
    if not holder:
        return True
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RowLease:
    """A lease row with an expiry, renewed while the holder works."""

    def __init__(self, engine: Engine, name: str, ttl: dt.timedelta, clock: Callable[[], dt.datetime]):
        self._engine = engine
        self._name = name
        self._ttl = ttl
        self._clock = clock
        self.holder = new_holder()

    def _claim(self, connection: Connection, *, only_ours: bool) -> bool:
        now = self._clock()
        table = Lease.__table__
        condition = table.c.holder == self.holder
        if not only_ours:
            condition = or_(condition, table.c.holder.is_(None), table.c.expires_at <= now)
        claimed = connection.execute(
            update(table).where(table.c.name == self._name, condition).values(holder=self.holder, expires_at=now + self._ttl)
        ).rowcount
        return claimed == 1

    def acquire(self) -> bool:
        try:
            with self._engine.begin() as connection:
                if self._claim(connection, only_ours=False):
                    return True
                row = connection.execute(
                    Lease.__table__.select().where(Lease.__table__.c.name == self._name)
                ).first()
                if row is None:
                    connection.execute(insert(Lease).values(name=self._name, holder=self.holder, expires_at=self._clock() + self._ttl))
                    return True
                if _process_gone(row.holder):
                    connection.execute(
                        update(Lease).where(Lease.name == self._name, Lease.holder == row.holder)
                        .values(holder=self.holder, expires_at=self._clock() + self._ttl)
                    )
                    return True
                return False
        except IntegrityError:  # another process inserted the row first
            return False

    def renew(self) -> None:
        with self._engine.begin() as connection:
            if not self._claim(connection, only_ours=True):
                raise LeaseLost("the retention lease was taken over")

    def release(self) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(Lease).where(Lease.name == self._name, Lease.holder == self.holder).values(holder=None, expires_at=self._clock())
            )


def lease_for(engine: Engine, name: str, ttl: dt.timedelta, clock: Callable[[], dt.datetime]) -> JobLease:
    """The lease that suits the engine."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLease(engine, name)
    return RowLease(engine, name, ttl, clock)


class Heartbeat:
    """Renews a lease at most every `every` seconds, however often it is asked to: a renewal on
    SQLite is a write, and a purge must not take the write lock twice per batch."""

    def __init__(self, lease: JobLease, every: float, clock: Callable[[], float] = time.monotonic):
        self._lease = lease
        self._every = every
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        if self._clock() - self._last >= self._every:
            self._lease.renew()
            self._last = self._clock()
