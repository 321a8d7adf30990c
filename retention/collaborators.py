"""What a retention run needs from the deployment it runs in: its audit log and its key vault.

Retention knows no domain: the service hands it these (service.audit.log and
service.vault.store.SqlKeyStore), together with the holdings (retention.holdings.Holdings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Connection

from crypto.audit import CheckpointSigner
from crypto.keyring import WrappedKey


class AuditLog(Protocol):
    """The hash-chained audit log, as retention writes, prunes and verifies it (service.audit.log)."""

    def append(self, connection: Connection, *, kind: str, actor: str, detail: dict[str, Any], at: dt.datetime) -> int:
        """Add an entry in the caller's transaction; return its sequence number."""
        ...

    def checkpoint(self, connection: Connection, signer: CheckpointSigner, at: dt.datetime,
                   period: dt.timedelta | None = None) -> int | None:
        """Verify the log, then sign its head unless it is signed already; return the seq signed, or None.

        Raises retention.errors.UnsignedLog (a subclass) when the log does not verify."""
        ...

    def prune(self, connection: Connection, signer: CheckpointSigner, *, before: dt.datetime, at: dt.datetime,
              actor: str, period_days: int) -> int:
        """Drop entries older than `before`, keeping the rest verifiable; return how many were dropped."""
        ...

    def prunable(self, connection: Connection, before: dt.datetime) -> int:
        """How many entries a prune at `before` would drop."""
        ...

    def verify(self, connection: Connection, public_key: bytes, kept: Iterable[Any] = (),
               period: dt.timedelta | None = None, now: dt.datetime | None = None) -> Any:
        """Check the chain and its checkpoints; the result has `valid` and `broken_at`."""
        ...

    def latest(self, connection: Connection, kind: str, limit: int) -> list[tuple[int, dt.datetime, str]]:
        """The newest entries of one kind, newest first: (seq, at, detail as stored)."""
        ...


class KeyVault(Protocol):
    """The data keys as retention shreds them (service.vault.store.SqlKeyStore)."""

    def live_through(self, data_class: str, last_epoch: dt.date) -> list[WrappedKey]:
        """The class's keys not yet destroyed, of epochs up to `last_epoch`."""
        ...

    def destroy(self, key_ids: list[bytes], now: dt.datetime) -> int:
        """Destroy these keys for good; return how many were live."""
        ...

    def unlogged_destructions(self) -> list[tuple[WrappedKey, dt.datetime]]:
        """Destroyed keys whose destruction is not yet in the audit log."""
        ...

    def mark_logged(self, key_ids: list[bytes], now: dt.datetime) -> None:
        """Record that these destructions are in the audit log."""
        ...

    def erase_destroyed(self, now: dt.datetime) -> int:
        """Remove destroyed keys' old bytes from the vault's files; return how many are proved gone.

        Raises retention.errors.ErasureBlocked while a reader holds them in place."""
        ...

    def pending_erasure(self) -> tuple[int, dt.datetime | None]:
        """How many destroyed keys may still be in the vault's files, and since when (the oldest)."""
        ...
