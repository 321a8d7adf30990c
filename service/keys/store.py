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

from sqlalchemy import Engine, select, update

from crypto.keyring import WrappedKey
from database.base import READ_ONLY, upsert_insert
from database.engines import checkpoint_wal
from service.keys.models import DataKeyRecord


def _to_wrapped(row: DataKeyRecord) -> WrappedKey:
    return WrappedKey(
        key_id=row.key_id,
        data_class=row.data_class,
        epoch=row.epoch,
        kek_id=row.kek_id or "",
        wrapped=row.wrapped or b"",
        destroyed=row.destroyed_at is not None,
    )


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

        On SQLite the vault runs with secure_delete, so the old bytes are overwritten in the
        file, and the write-ahead log is truncated afterwards, so no copy is left in it either.
        """
        if not key_ids:
            return 0
        table = DataKeyRecord.__table__
        with self._engine.begin() as conn:
            count = conn.execute(
                update(table)
                .where(table.c.key_id.in_(key_ids), table.c.destroyed_at.is_(None))
                .values(wrapped=None, kek_id=None, destroyed_at=now)
            ).rowcount
        if self._engine.dialect.name == "sqlite":
            checkpoint_wal(self._engine, "TRUNCATE")
        return count

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
