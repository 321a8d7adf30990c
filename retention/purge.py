"""The retention run: shred, delete and anonymise what is past its period, and audit it.

One run handles every data class in the order of the deployment's holdings (retention.holdings). For a class that
is shredded, the epochs' data keys are destroyed first (in the key vault: a few rows whatever the
number of reports, so shredding takes the same time for any volume), and only then are the rows
deleted. Rows go in batches of `batch_size`, each batch its own short transaction, and after each
batch the run pauses for `pause_ratio` times the batch's duration: on SQLite a writer that takes
the lock again at once starves intake (bench/retention.py measured intake p99 54 times its
baseline with batches of 5,000 and no pause), and on any engine the pause leaves CPU to intake.

A destroyed key's row is blanked at once, but its old bytes stay in the vault's files until the
engine lets them go (retention.purge.Retention.erase, service.vault.store.erase_destroyed): each
run tries, with backoff, to remove them, and until it succeeds the keys are pending in
`status` and the DPO's compliance view, non-compliant once pending longer than `erase_grace`.

Runs are idempotent: each works from the clock at its start, and whatever an interrupted run
left is simply still expired for the next one. Exactly one run works at a time (retention.lease).
Each class's outcome becomes an audit entry; a class that fails is recorded as failed and the
run goes on with the others.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, select, update

from crypto.audit import CheckpointSigner
from crypto.keyring import KeyRing
from database.base import READ_ONLY
from database.engines import checkpoint_wal
from retention.collaborators import AuditLog, KeyVault
from retention.errors import ErasureBlocked, RetentionError, UnsignedLog
from retention.holdings import Holding, Holdings, epoch_start, last_expired_epoch
from retention.lease import Heartbeat, JobLease, LeaseLost, lease_for
from retention.models import held_count
from retention.policy import Expiry, Policies

log = logging.getLogger(__name__)

LEASE_NAME = "retention"
# The audit log is pruned by the log itself (it keeps an anchor and stays verifiable), not deleted.
AUDIT_LOG = "audit_log"
# Pauses between attempts to erase destroyed keys from the vault's files within one run (a
# reader holding the vault usually lets go within a second; a longer one waits for the next run).
ERASE_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)


@dataclass
class ClassOutcome:
    """What a run did (or, dry, would do) to one data class."""

    data_class: str
    action: str
    cutoff: str
    period_days: int
    rows: int = 0
    keys_destroyed: int = 0
    epochs: list[str] = field(default_factory=list)
    duration_ms: int = 0
    longest_transaction_ms: float = 0.0
    outcome: str = "ok"
    error: str | None = None


@dataclass
class VaultErasure:
    """Destroyed keys whose old bytes may still be in the vault's files, and since when."""

    pending_keys: int
    pending_since: str | None
    compliant: bool
    erased_keys: int = 0
    attempts: int = 0


@dataclass
class RunOutcome:
    run_id: str
    started_at: str
    dry_run: bool
    skipped: str | None = None
    classes: list[ClassOutcome] = field(default_factory=list)
    checkpoint: int | None = None
    vault: VaultErasure | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClassStatus:
    """Compliance of one data class: the oldest record against the period, and what is overdue."""

    data_class: str
    period_days: int
    on_expiry: str
    records: int
    oldest_age_days: float | None
    past_period: int
    live_keys_past_period: int
    compliant: bool


class Retention:
    """Runs retention for one deployment: the two databases, its keys, policies and clock.

    What the deployment stores (`holdings`), its audit log and its key vault are handed in, so
    retention knows no domain. A `signer` given as a loader is called on first use; the loader
    checks the key against the configured public key (the service's, raising its ConfigError).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        keys_engine: Engine,
        keystore: KeyVault,
        keyring: KeyRing,
        policies: Policies,
        holdings: Holdings,
        audit_log: AuditLog,
        signer: CheckpointSigner | Callable[[], CheckpointSigner],
        public_key: bytes | None = None,
        clock: Callable[[], dt.datetime],
        batch_size: int = 200,
        pause_ratio: float = 1.0,
        lease_ttl: dt.timedelta = dt.timedelta(minutes=2),
        erase_grace: dt.timedelta = dt.timedelta(hours=2),
        erase_retry_delays: tuple[float, ...] = ERASE_RETRY_DELAYS,
    ):
        self.engine = engine
        self.keys_engine = keys_engine
        self.keystore = keystore
        self.keyring = keyring
        self.policies = policies
        self.holdings = holdings
        self.audit_log = audit_log
        self._signer = signer if isinstance(signer, CheckpointSigner) else None
        self._load_signer = None if isinstance(signer, CheckpointSigner) else signer
        self._public_key = public_key
        self.clock = clock
        self.batch_size = batch_size
        self.pause_ratio = pause_ratio
        self.lease_ttl = lease_ttl
        self.erase_grace = erase_grace
        self.erase_retry_delays = erase_retry_delays

    @property
    def signer(self) -> CheckpointSigner:
        """The checkpoint signing key, loaded on first use: only processes that sign need it."""
        if self._signer is None:
            self._signer = self._load_signer()  # type: ignore[misc]
        return self._signer

    @property
    def public_key(self) -> bytes:
        """The key checkpoints are verified with."""
        return self._public_key if self._public_key is not None else self.signer.public_key

    def _engine_of(self, holding: Holding) -> Engine:
        return self.keys_engine if holding.database == "keys" else self.engine

    @staticmethod
    def _read(engine: Engine) -> Connection:
        # Read-only: on SQLite it takes no write lock, so the DPO's views never hold up intake.
        return engine.connect().execution_options(**{READ_ONLY: True})

    def lease(self) -> JobLease:
        return lease_for(self.engine, LEASE_NAME, self.lease_ttl, self.clock)

    # -- the run -------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, actor: str = "scheduler") -> RunOutcome:
        """Purge every data class once; with dry_run, count what would go and change nothing."""
        now = self.clock()
        outcome = RunOutcome(run_id=uuid.uuid4().hex[:16], started_at=now.isoformat(), dry_run=dry_run)
        if dry_run:
            outcome.classes = [self._dry(holding, now) for holding in self.holdings]
            return outcome
        lease = self.lease()
        if not lease.acquire():
            outcome.skipped = "another retention run holds the lease"
            log.info("retention run skipped: another run holds the lease")
            return outcome
        heartbeat = Heartbeat(lease, self.lease_ttl.total_seconds() / 3)
        try:
            self._log_destroyed_keys(actor)
            for holding in self.holdings:
                heartbeat.beat()
                result = self._purge_class(holding, now, heartbeat, actor, outcome.run_id)
                outcome.classes.append(result)
                self._audit(actor, "retention.purged", {
                    "run_id": outcome.run_id, "data_class": result.data_class, "action": result.action,
                    "cutoff": result.cutoff, "period_days": result.period_days, "rows": result.rows,
                    "keys_destroyed": result.keys_destroyed, "duration_ms": result.duration_ms,
                    "longest_transaction_ms": round(result.longest_transaction_ms, 1),
                    "outcome": result.outcome, "error": result.error,
                })
            outcome.vault = self.erase(heartbeat, actor, outcome.run_id)
            try:
                with self.engine.begin() as connection:
                    outcome.checkpoint = self.audit_log.checkpoint(connection, self.signer, self.clock(), self.policies["audit_log"].period)
            except UnsignedLog as error:
                # A broken log is not signed; the run's own work is done and recorded.
                log.error("retention run %s signed no checkpoint: %s", outcome.run_id, error)
        except LeaseLost:
            # Another run took over (ours expired); stop at once and say so. What was deleted
            # is in the log batch by batch.
            log.error("retention run %s lost its lease and stopped", outcome.run_id)
            outcome.skipped = "lost the lease midway; another run took over"
            self._audit(actor, "retention.aborted", {"run_id": outcome.run_id, "outcome": "lease lost"})
        finally:
            try:
                lease.release()
            except Exception:  # noqa: BLE001 - never hide the run's own outcome or error
                log.exception("retention run %s could not release its lease (it expires by itself)", outcome.run_id)
        return outcome

    def erase(self, heartbeat: Heartbeat, actor: str, run_id: str) -> VaultErasure:
        """Remove destroyed keys' old bytes from the vault's files, retrying with backoff; what
        is still pending afterwards the next run tries again."""
        erased, attempts = 0, 0
        for delay in (0.0, *self.erase_retry_delays):
            if self.keystore.pending_erasure()[0] == 0:
                break
            heartbeat.beat()
            time.sleep(delay)
            attempts += 1
            try:
                erased += self.keystore.erase_destroyed(self.clock())
            except ErasureBlocked as blocked:
                log.info("retention run %s: destroyed keys not yet erased from the vault's files: %s", run_id, blocked)
            except Exception:  # noqa: BLE001 - pending stays visible, and the next run tries again
                log.exception("retention run %s: erasing destroyed keys from the vault's files failed", run_id)
                break
        result = self.vault_status()
        result.erased_keys, result.attempts = erased, attempts
        if erased or result.pending_keys:
            # count: keys confirmed gone from the vault's files; remaining: still pending.
            self._audit(actor, "keys.erased", {
                "run_id": run_id, "what": "key vault files", "count": erased, "remaining": result.pending_keys,
                "outcome": "pending" if result.pending_keys else "ok",
            })
        if result.pending_keys:
            log.warning("retention run %s: %d destroyed keys still in the vault's files (since %s)",
                        run_id, result.pending_keys, result.pending_since)
        return result

    def vault_status(self) -> VaultErasure:
        """Destroyed keys still pending removal from the vault's files; compliant while the
        oldest has waited no longer than `erase_grace`."""
        count, oldest = self.keystore.pending_erasure()
        compliant = oldest is None or self.clock() - oldest <= self.erase_grace
        return VaultErasure(count, oldest.isoformat() if oldest is not None else None, compliant)

    def _audit(self, actor: str, kind: str, detail: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            self.audit_log.append(connection, kind=kind, actor=actor, detail=detail, at=self.clock())

    def _purge_class(self, holding: Holding, now: dt.datetime, lease: Heartbeat, actor: str, run_id: str) -> ClassOutcome:
        policy = self.policies[holding.data_class]
        cutoff = now - policy.period
        result = ClassOutcome(holding.data_class, policy.on_expiry.value, cutoff.isoformat(), policy.period_days)
        started = time.perf_counter()
        try:
            if policy.on_expiry is Expiry.SHRED:
                self._shred(holding, cutoff, result, actor)
            self._delete_dependents(holding, cutoff, result, actor, run_id)
            if holding.data_class == AUDIT_LOG:
                self._prune_audit(holding, cutoff, result, actor)
            elif policy.on_expiry is Expiry.ANONYMISE:
                self._batches(holding, cutoff, result, lease, actor, run_id, anonymise=True)
            else:
                self._batches(holding, cutoff, result, lease, actor, run_id, anonymise=False)
        except LeaseLost:
            raise
        except Exception as error:  # noqa: BLE001 - recorded, and the run goes on with the next class
            log.exception("retention of %s failed", holding.data_class)
            result.outcome, result.error = "error", type(error).__name__
        result.duration_ms = round((time.perf_counter() - started) * 1000)
        return result

    def _shred(self, holding: Holding, cutoff: dt.datetime, result: ClassOutcome, actor: str) -> None:
        keys = self.keystore.live_through(holding.data_class, last_expired_epoch(cutoff))
        started = time.perf_counter()
        result.keys_destroyed = self.keystore.destroy([key.key_id for key in keys], self.clock())
        result.longest_transaction_ms = max(result.longest_transaction_ms, (time.perf_counter() - started) * 1000)
        result.epochs = [key.epoch.isoformat() for key in keys]
        for key in keys:
            self.keyring.forget(key.key_id)
        self._log_destroyed_keys(actor)

    def _log_destroyed_keys(self, actor: str) -> None:
        """Write destroyed keys not yet in the audit log there (also after a crash in between)."""
        pending = self.keystore.unlogged_destructions()
        by_class: dict[str, list[Any]] = {}
        for key, _destroyed_at in pending:
            by_class.setdefault(key.data_class, []).append(key)
        for data_class, keys in by_class.items():
            self._audit(actor, "keys.destroyed", {
                "data_class": data_class, "count": len(keys),
                "epochs": [key.epoch.isoformat() for key in keys], "key_ids": [key.key_id.hex() for key in keys],
            })
            self.keystore.mark_logged([key.key_id for key in keys], self.clock())

    def _delete_dependents(self, holding: Holding, cutoff: dt.datetime, result: ClassOutcome, actor: str, run_id: str) -> None:
        """Delete the rows of other tables that belong to records past their period (a few rows
        per record: one transaction each, with its audit entry)."""
        for dependent in holding.dependents:
            started = time.perf_counter()
            with self._engine_of(holding).begin() as connection:
                count = connection.execute(
                    delete(dependent.table).where(holding.dependents_past(dependent, cutoff))
                ).rowcount
                if count and holding.database == "main":
                    self.audit_log.append(connection, kind="retention.batch", actor=actor, at=self.clock(),
                                 detail={"run_id": run_id, "data_class": holding.data_class, "rows": count,
                                         "what": dependent.table.name})  # type: ignore[attr-defined]
            result.longest_transaction_ms = max(result.longest_transaction_ms, (time.perf_counter() - started) * 1000)
            result.rows += count

    def _batches(self, holding: Holding, cutoff: dt.datetime, result: ClassOutcome, lease: Heartbeat, actor: str,
                 run_id: str, *, anonymise: bool) -> None:
        """Delete (or anonymise) in batches, each its own transaction. In the main database each
        batch's audit entry commits with it, so a run killed midway leaves no unrecorded deletion."""
        engine = self._engine_of(holding)
        chosen = select(holding.key).where(holding.expired(cutoff)).limit(self.batch_size)
        if anonymise:
            statement = update(holding.table).where(holding.key.in_(chosen)).values(**(holding.anonymise or {}))
        else:
            statement = delete(holding.table).where(holding.key.in_(chosen))
        while True:
            started = time.perf_counter()
            with engine.begin() as connection:
                count = connection.execute(statement).rowcount
                if count and holding.database == "main":
                    self.audit_log.append(connection, kind="retention.batch", actor=actor, at=self.clock(),
                                 detail={"run_id": run_id, "data_class": holding.data_class, "rows": count})
            took = time.perf_counter() - started
            result.longest_transaction_ms = max(result.longest_transaction_ms, took * 1000)
            result.rows += count
            if count < self.batch_size:
                return
            lease.beat()
            paused = time.perf_counter()
            if engine.dialect.name == "sqlite":
                # Copy the batch's pages back from the write-ahead log now, on the purge's time:
                # otherwise the intake commit that crosses the log's size limit pays for it.
                checkpoint_wal(engine)
            # Leave the database (on SQLite its one write lock, on any engine the CPU) to intake
            # for a while: bench/retention.py, intake p99 during a purge.
            time.sleep(max(0.0, took * self.pause_ratio - (time.perf_counter() - paused)))

    def _prune_audit(self, holding: Holding, cutoff: dt.datetime, result: ClassOutcome, actor: str) -> None:
        with self._read(self.engine) as connection:
            oldest = connection.execute(select(func.min(holding.age)).where(holding.where)).scalar()
        if oldest is None or oldest >= cutoff:
            return
        check = self.verify_audit()
        if not check.valid:
            # Pruning a broken log would destroy the evidence: refuse, and say where it broke.
            raise AuditChainBroken(f"entry {check.broken_at}")
        started = time.perf_counter()
        with self.engine.begin() as connection:
            result.rows = self.audit_log.prune(connection, self.signer, before=cutoff, at=self.clock(), actor=actor,
                                      period_days=self.policies["audit_log"].period_days)
        result.longest_transaction_ms = (time.perf_counter() - started) * 1000

    def _dry(self, holding: Holding, now: dt.datetime) -> ClassOutcome:
        policy = self.policies[holding.data_class]
        cutoff = now - policy.period
        result = ClassOutcome(holding.data_class, policy.on_expiry.value, cutoff.isoformat(), policy.period_days, outcome="dry-run")
        with self._read(self._engine_of(holding)) as connection:
            if holding.data_class == AUDIT_LOG:  # the prune keeps its new anchor
                result.rows = self.audit_log.prunable(connection, cutoff)
            else:
                result.rows = connection.execute(
                    select(func.count()).select_from(holding.table).where(holding.expired(cutoff))
                ).scalar_one()
            result.rows += self._dependents_past(connection, holding, cutoff)
        if policy.on_expiry is Expiry.SHRED:
            keys = self.keystore.live_through(holding.data_class, last_expired_epoch(cutoff))
            result.keys_destroyed = len(keys)
            result.epochs = [key.epoch.isoformat() for key in keys]
        return result

    @staticmethod
    def _dependents_past(connection: Connection, holding: Holding, cutoff: dt.datetime) -> int:
        return sum(
            connection.execute(
                select(func.count()).select_from(dependent.table).where(holding.dependents_past(dependent, cutoff))
            ).scalar_one()
            for dependent in holding.dependents
        )

    # -- what the DPO sees ---------------------------------------------------------------------

    def verify_audit(self, kept: Iterable[Any] = ()) -> Any:
        """Verify the audit log with this deployment's key, audit-log period and clock."""
        with self._read(self.engine) as connection:
            return self.audit_log.verify(connection, self.public_key, kept, self.policies["audit_log"].period, self.clock())

    def status(self) -> list[ClassStatus]:
        """Compliance per data class, now."""
        now = self.clock()
        statuses = []
        with ExitStack() as stack:
            read = self._readers(stack)
            counted = self._counted(read)
            for holding in self.holdings:
                policy = self.policies[holding.data_class]
                cutoff = now - policy.period
                if holding.counted:
                    # The counts per day say it all: the class's rows are all held as they are,
                    # and those of a day up to the last expired epoch are past the period.
                    days = counted.get(holding.data_class, [])
                    records = sum(count for _, count in days)
                    oldest = days[0][0] if days else None
                    last_expired = last_expired_epoch(cutoff)
                    past = sum(count for epoch, count in days if epoch <= last_expired)
                else:
                    connection = read(holding)
                    # Records still held as they were (an anonymised organisation no longer is one);
                    # those past the period are among them.
                    held = holding.where if holding.anonymised is None else and_(holding.where, ~holding.anonymised)
                    records, oldest, past = connection.execute(
                        select(func.count(), func.min(holding.age), func.count().filter(holding.expired(cutoff)))
                        .select_from(holding.table).where(held)
                    ).one()
                    past += self._dependents_past(connection, holding, cutoff)
                live_keys = 0
                if policy.on_expiry is Expiry.SHRED:
                    live_keys = len(self.keystore.live_through(holding.data_class, last_expired_epoch(cutoff)))
                age = max(0.0, holding.age_of(oldest, now).total_seconds() / 86400) if oldest is not None else None
                statuses.append(ClassStatus(
                    holding.data_class, policy.period_days, policy.on_expiry.value, records,
                    round(age, 3) if age is not None else None, past, live_keys, past == 0 and live_keys == 0,
                ))
        return statuses

    def inventory(self) -> list[dict[str, Any]]:
        """Counts per epoch (UTC day) of the classes kept by epoch, no content, with whether the
        epoch's data key still lives (for shredded classes, an epoch with rows and no live key is
        one whose key was destroyed and whose rows the run is still deleting)."""
        now = self.clock()
        rows: list[dict[str, Any]] = []
        with ExitStack() as stack:
            read = self._readers(stack)
            counted = self._counted(read)
            for holding in self.holdings:
                if not holding.by_epoch:
                    continue
                if holding.counted:
                    days = counted.get(holding.data_class, [])
                else:
                    days = read(holding).execute(
                        select(holding.age, func.count()).select_from(holding.table).where(holding.where)
                        .group_by(holding.age).order_by(holding.age)
                    ).all()
                if not days:
                    continue  # nothing to list, so no need to ask the vault about its keys
                keys = {key.epoch: key for key in self.keystore.live_through(holding.data_class, dt.date.max)}
                for epoch, count in days:
                    rows.append({
                        "data_class": holding.data_class, "epoch": epoch.isoformat(),
                        "age_days": (now - epoch_start(epoch)).days, "records": count,
                        "key": "live" if epoch in keys else ("destroyed" if self.policies[holding.data_class].on_expiry is Expiry.SHRED else "none"),
                    })
        return rows

    def _readers(self, stack: ExitStack) -> Callable[[Holding], Connection]:
        """One read-only connection per database for a whole view, opened when first needed."""
        connections: dict[str, Connection] = {}

        def read(holding: Holding) -> Connection:
            if holding.database not in connections:
                connections[holding.database] = stack.enter_context(self._read(self._engine_of(holding)))
            return connections[holding.database]

        return read

    def _counted(self, read: Callable[[Holding], Connection]) -> dict[str, list[tuple[dt.date, int]]]:
        """The counted classes' rows per age value, oldest first (retention.models.held_count)."""
        names = [holding.data_class for holding in self.holdings if holding.counted]
        if not names:
            return {}
        connection = read(self.holdings[names[0]])
        counted: dict[str, list[tuple[dt.date, int]]] = {name: [] for name in names}
        for data_class, epoch, records in connection.execute(
            select(held_count.c.data_class, held_count.c.epoch, held_count.c.records)
            .where(held_count.c.data_class.in_(names), held_count.c.records > 0)
            .order_by(held_count.c.data_class, held_count.c.epoch)
        ):
            counted[data_class].append((epoch, records))
        return counted

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest retention outcomes per class, from the audit log, newest first."""
        with self._read(self.engine) as connection:
            entries = self.audit_log.latest(connection, "retention.purged", limit)
        runs = []
        for seq, at, detail in entries:
            try:
                runs.append({"seq": seq, "at": at.isoformat(), **json.loads(detail)})
            except (ValueError, TypeError):
                continue  # a tampered entry: `audit verify` names it; this list shows the readable ones
        return runs


class AuditChainBroken(RetentionError):
    """The audit log does not verify; it is not pruned until someone has looked."""
