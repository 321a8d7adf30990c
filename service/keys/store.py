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
from sqlalchemy.dialects import postgresql, sqlite

from crypto.keyring import WrappedKey
from service.db import READ_ONLY
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
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)

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
