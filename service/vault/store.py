"""The key ring's storage on SQLAlchemy.

Every call runs in its own short transaction on its own connection, never in the caller's session:
a data key must be committed before anything is encrypted under it (a key cached in memory but
rolled back with a failed request would leave ciphertexts nobody can read), and on SQLite a
second writer inside an open request transaction would wait on its own lock. So callers resolve
their data keys before they start writing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, func, select, text, update

from crypto.keyring import WrappedKey
from database.base import READ_ONLY, upsert_insert
from retention.errors import ErasureBlocked
from service.vault.models import DataKeyRecord


def _to_wrapped(row: DataKeyRecord) -> WrappedKey:
    return WrappedKey(
        key_id=row.key_id,
        data_class=row.data_class,
        epoch=row.epoch,
        kek_id=row.kek_id or "",
        wrapped=row.wrapped or b"",
        destroyed=row.destroyed_at is not None,
    )


# A checkpoint that waits for readers blocks every writer of the vault meanwhile (new data
# keys at intake): wait this long at most, and retry later from retention instead.
_CHECKPOINT_BUSY_MS = 50
# VACUUM FULL takes an exclusive lock on the key table, and key look-ups queue behind it: never
# wait for it longer than this.
_VACUUM_LOCK_TIMEOUT = "500ms"


def _truncate_wal(engine: Engine) -> None:
    """SQLite: copy every page of the write-ahead log back and empty the log file, or raise.

    With secure_delete the vault's file holds no destroyed key once the pages written after its
    destruction are copied back; the log still holds the earlier page images until it is emptied.
    wal_checkpoint(TRUNCATE) reports (busy, frames in the log, frames copied back): only busy=0
    with every frame copied means both are done. A reader whose snapshot predates the
    destruction makes it stop short (busy=1, or copied < logged).
    """
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        (timeout,) = driver.execute("PRAGMA busy_timeout").fetchone()  # type: ignore[union-attr]
        driver.execute(f"PRAGMA busy_timeout={_CHECKPOINT_BUSY_MS}")  # type: ignore[union-attr]
        try:
            busy, logged, copied = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # type: ignore[union-attr]
        finally:
            driver.execute(f"PRAGMA busy_timeout={int(timeout)}")  # type: ignore[union-attr]
    finally:
        raw.close()
    if busy != 0 or logged != copied:
        raise ErasureBlocked("a reader holds the vault's write-ahead log")


def _vacuum_full(engine: Engine) -> None:
    """PostgreSQL: rewrite the key table into a new file, or raise.

    Destroying a key writes a new row version; the old one, with the wrapped key, stays in the
    table's file as a dead tuple. A plain VACUUM only marks its space free (the bytes stay until
    the space is reused); VACUUM FULL copies the live rows into a new file and truncates the old
    one (the table holds one small row per class and day, so it takes milliseconds). But it also
    copies a dead version that some snapshot might still see, and a snapshot's horizon is the
    oldest transaction running anywhere on the server, in any database. So it runs only when no
    transaction older than this attempt (every destruction being older still) is open in the
    vault's database, nor holds a transaction id in any other, nor is prepared, and no replication
    slot holds the horizon; a session this role may not look at counts as such a transaction.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        older = conn.execute(text(
            "SELECT (SELECT count(*) FROM pg_stat_activity"
            "        WHERE pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'"
            "        AND ((xact_start < clock_timestamp() AND (datname = current_database() OR backend_xid IS NOT NULL))"
            "             OR (backend_type = 'client backend' AND state IS NULL)))"
            "     + (SELECT count(*) FROM pg_prepared_xacts)"
            "     + (SELECT count(*) FROM pg_replication_slots WHERE xmin IS NOT NULL)"
        )).scalar_one()
        if older:
            raise ErasureBlocked("a transaction older than the destruction is open on the vault's server")
        conn.execute(text(f"SET lock_timeout = '{_VACUUM_LOCK_TIMEOUT}'"))
        try:
            conn.execute(text(f"VACUUM (FULL) {DataKeyRecord.__tablename__}"))
        except Exception:  # noqa: BLE001 - a lock wait cut short: the next attempt tries again
            raise ErasureBlocked("the key table is in use") from None
        finally:
            conn.execute(text("RESET lock_timeout"))


class SqlKeyStore:
    """`crypto.keyring.KeyStore` over the data_key table."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime]):
        self._engine = engine
        self._clock = clock
        self._insert = upsert_insert(engine.dialect.name)

    def by_id(self, key_id: bytes) -> WrappedKey | None:
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            row = conn.execute(select(DataKeyRecord.__table__).where(DataKeyRecord.key_id == key_id)).first()
        return _to_wrapped(row) if row else None  # type: ignore[arg-type]

    def by_epoch(self, data_class: str, epoch: dt.date) -> WrappedKey | None:
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            row = conn.execute(
                select(DataKeyRecord.__table__).where(
                    DataKeyRecord.data_class == data_class, DataKeyRecord.epoch == epoch
                )
            ).first()
        return _to_wrapped(row) if row else None  # type: ignore[arg-type]

    def add(self, key: WrappedKey) -> WrappedKey:
        """Insert the epoch's key unless another process got there first; return the stored one."""
        statement = (
            self._insert(DataKeyRecord.__table__)
            .values(
                key_id=key.key_id,
                data_class=key.data_class,
                epoch=key.epoch,
                kek_id=key.kek_id,
                wrapped=key.wrapped,
                created_at=self._clock(),
            )
            .on_conflict_do_nothing()
        )
        with self._engine.begin() as conn:
            conn.execute(statement)
        stored = self.by_epoch(key.data_class, key.epoch)
        assert stored is not None
        return stored

    def all_wrapped(self) -> list[WrappedKey]:
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(
                select(DataKeyRecord.__table__)
                .where(DataKeyRecord.destroyed_at.is_(None))
                .order_by(DataKeyRecord.epoch, DataKeyRecord.data_class)
            ).all()
        return [_to_wrapped(row) for row in rows]  # type: ignore[arg-type]

    def replace_wrapping(self, key_id: bytes, kek_id: str, wrapped: bytes) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(DataKeyRecord.__table__)
                .where(DataKeyRecord.key_id == key_id, DataKeyRecord.destroyed_at.is_(None))
                .values(kek_id=kek_id, wrapped=wrapped)
            )

    # -- crypto-shredding (retention) ---------------------------------------------------------

    def live_through(self, data_class: str, last_epoch: dt.date) -> list[WrappedKey]:
        """Keys of `data_class` not yet destroyed whose epoch is `last_epoch` or older."""
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(
                select(DataKeyRecord.__table__).where(
                    DataKeyRecord.data_class == data_class,
                    DataKeyRecord.epoch <= last_epoch,
                    DataKeyRecord.destroyed_at.is_(None),
                ).order_by(DataKeyRecord.epoch)
            ).all()
        return [_to_wrapped(row) for row in rows]  # type: ignore[arg-type]

    def destroy(self, key_ids: list[bytes], now: dt.datetime) -> int:
        """Blank the wrapped material of these keys for good; return how many were live.

        The row no longer holds the key, but its old bytes may still lie in the vault's files
        (SQLite: the write-ahead log and the pages a checkpoint has not yet copied back;
        PostgreSQL: the dead row version). `erase_destroyed` removes them and records when.
        """
        if not key_ids:
            return 0
        table = DataKeyRecord.__table__
        with self._engine.begin() as conn:
            return conn.execute(
                update(table)
                .where(table.c.key_id.in_(key_ids), table.c.destroyed_at.is_(None))
                .values(wrapped=None, kek_id=None, destroyed_at=now)
            ).rowcount

    def pending_erasure(self) -> tuple[int, dt.datetime | None]:
        """Destroyed keys whose bytes are not yet confirmed gone from the vault's files: how
        many, and the destruction time of the oldest."""
        table = DataKeyRecord.__table__
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(table.c.destroyed_at))
                .where(table.c.destroyed_at.is_not(None), table.c.erased_at.is_(None))
            ).one()
        return count, oldest

    def erase_destroyed(self, now: dt.datetime) -> int:
        """One attempt to remove destroyed keys' old bytes from the vault's files; return how
        many keys it confirmed erased (0 also when none was pending), or raise ErasureBlocked.

        Both engines keep an overwritten row's old bytes until every reader that could still see
        them is gone, and neither says which reader: so an attempt succeeds only when the engine
        proves that nothing older is left, and otherwise leaves the keys pending for a retry
        (retention.purge retries with backoff, then again on its next run).
        """
        table = DataKeyRecord.__table__
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            pending = list(conn.execute(
                select(table.c.key_id).where(table.c.destroyed_at.is_not(None), table.c.erased_at.is_(None))
            ).scalars())
        if not pending:
            return 0
        if self._engine.dialect.name == "sqlite":
            _truncate_wal(self._engine)
        elif self._engine.dialect.name == "postgresql":
            _vacuum_full(self._engine)
        with self._engine.begin() as conn:
            return conn.execute(
                update(table).where(table.c.key_id.in_(pending), table.c.erased_at.is_(None)).values(erased_at=now)
            ).rowcount

    def unlogged_destructions(self) -> list[tuple[WrappedKey, dt.datetime]]:
        """Destroyed keys whose destruction is not yet in the audit log."""
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(
                select(DataKeyRecord.__table__)
                .where(DataKeyRecord.destroyed_at.is_not(None), DataKeyRecord.logged_at.is_(None))
                .order_by(DataKeyRecord.data_class, DataKeyRecord.epoch)
            ).all()
        return [(_to_wrapped(row), row.destroyed_at) for row in rows]  # type: ignore[arg-type]

    def mark_logged(self, key_ids: list[bytes], now: dt.datetime) -> None:
        table = DataKeyRecord.__table__
        with self._engine.begin() as conn:
            conn.execute(update(table).where(table.c.key_id.in_(key_ids)).values(logged_at=now))
