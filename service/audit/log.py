"""Append to the audit log, checkpoint it, verify it, and prune it.

Every function takes a Connection and works inside the caller's transaction, so an entry is
committed together with the change it records (a credential issued, a retention batch) or not
at all.

Every entry carries a MAC under the audit MAC key (crypto.audit), and so does the head: the
hash chain alone lets anyone who can write the database append or re-hash entries, the MAC does
not. The key travels with the engine (`with_authenticator`, done once in `create_app`), so every
writer (API, scheduler, CLI) MACs what it appends; a connection without it cannot append.

Entries record what happened, never to whose data: `detail` accepts only the keys listed in
DETAIL_KEYS, and only numbers, booleans, short strings and lists of them, so no payload, note,
pseudonym, token or coordinate can be written into the log by mistake.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from crypto.audit import (
    GENESIS, CheckpointSigner, EntryAuthenticator, canonical_json, entry_hash, public_key_id, timestamp, verify_checkpoint,
)
from retention.errors import UnsignedLog
from service.audit.models import AuditCheckpoint, AuditEntry, AuditHead

HEAD_ID = 1
PRUNED = "audit.pruned"
# What an entry may say. A new kind of event that needs another key adds it here, in review.
DETAIL_KEYS = frozenset({
    "data_class", "action", "cutoff", "period_days", "rows", "keys_destroyed", "epochs", "key_ids",
    "duration_ms", "longest_transaction_ms", "outcome", "error", "run_id", "dry_run",
    "credential_id", "organisation_id", "role", "what", "kek_id", "count",
    "through_seq", "anchor_hash", "release_id", "cells", "epsilon",
    "municipality", "week", "shown", "quarter", "release_ids", "remaining", "municipalities",
    "window_start", "window_end", "files", "keys",
    "person_id",
    "subscription_id", "medium",
})
_MAX_TEXT = 200


# The execution option that carries the MAC key from the engine to every connection it opens.
_MAC_OPTION = "safesignal_audit_authenticator"


class AuditError(Exception):
    """Base of every error the audit log raises itself."""


class AuditDetailError(AuditError, ValueError):
    """An entry's detail holds a key or a value the audit log does not accept."""


class AuditKeyMissing(AuditError, RuntimeError):
    """The connection has no audit MAC key (see `with_authenticator`): nothing can be appended."""


class AuditLogBroken(AuditError, UnsignedLog):
    """The log does not verify, so it is not signed: a checkpoint would vouch for a forgery."""

    def __init__(self, result: Verification):
        super().__init__(f"the audit log does not verify: entry {result.broken_at}: {result.problem}")
        self.result = result


def with_authenticator(engine: Engine, authenticator: EntryAuthenticator) -> Engine:
    """The engine whose connections append MACed entries and verify MACs with this key."""
    return engine.execution_options(**{_MAC_OPTION: authenticator})


def _authenticator(connection: Connection) -> EntryAuthenticator:
    authenticator = connection.get_execution_options().get(_MAC_OPTION)
    if not isinstance(authenticator, EntryAuthenticator):
        raise AuditKeyMissing("this connection's engine has no audit MAC key (service.audit.log.with_authenticator)")
    return authenticator


def _write_head(connection: Connection, authenticator: EntryAuthenticator, head: Any, **changes: Any) -> None:
    """Update the head row with `changes` and its MAC over the result."""
    values = {name: getattr(head, name) for name in ("seq", "hash", "base_seq", "base_hash", "mac_from", "checkpointed")}
    values.update(changes)
    values["mac"] = authenticator.head_mac(values["seq"], values["hash"], values["base_seq"], values["base_hash"],
                                           values["mac_from"], values["checkpointed"])
    connection.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(**values))


def _head_ok(authenticator: EntryAuthenticator, head: Any) -> bool:
    return authenticator.head_ok(head.seq, head.hash, head.base_seq, head.base_hash, head.mac_from, head.checkpointed,
                                 head.mac)


def _check_detail(detail: dict[str, Any]) -> None:
    for key, value in detail.items():
        if key not in DETAIL_KEYS:
            raise AuditDetailError(f"audit detail key {key!r} is not allowed")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is not None and not isinstance(item, (bool, int, float, str)):
                raise AuditDetailError(f"audit detail {key!r} must hold numbers, booleans or short text")
            if isinstance(item, str) and len(item) > _MAX_TEXT:
                raise AuditDetailError(f"audit detail {key!r} is too long")


def append(connection: Connection, *, kind: str, actor: str, detail: dict[str, Any], at: dt.datetime) -> int:
    """Add an entry after the current head; return its sequence number.

    An entry's time is never before the previous entry's: two writers (the scheduler's jobs run
    side by side) read their clocks before one of them gets the head's lock, and the log's order
    is the order of that lock. So `at` is raised to the previous entry's time where it lies before.
    """
    _check_detail(detail)
    authenticator = _authenticator(connection)
    head = connection.execute(select(AuditHead.__table__).where(AuditHead.id == HEAD_ID).with_for_update()).one()
    previous = connection.execute(select(AuditEntry.at).where(AuditEntry.seq == head.seq)).scalar()
    if previous is not None and at < previous:
        at = previous
    seq = head.seq + 1
    text = canonical_json(detail)
    digest = entry_hash(head.hash, seq, at, kind, actor, text)
    connection.execute(insert(AuditEntry).values(
        seq=seq, at=at, kind=kind, actor=actor, detail=text, prev_hash=head.hash, hash=digest,
        mac=authenticator.entry_mac(digest),
    ))
    _write_head(connection, authenticator, head, seq=seq, hash=digest)
    return seq


def checkpoint(connection: Connection, signer: CheckpointSigner, at: dt.datetime,
               period: dt.timedelta | None = None) -> int | None:
    """Verify the log, then sign its head unless it is signed already; return the seq signed, or None.

    A log that does not verify (an entry without a valid MAC, a broken link...) is not signed:
    AuditLogBroken names where it broke.
    """
    head = connection.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)).one()
    if head.seq == 0:
        return None
    if connection.execute(select(AuditCheckpoint.seq).where(AuditCheckpoint.seq == head.seq)).first():
        return None
    result = verify(connection, signer.public_key, period=period, now=at)
    if not result.valid:
        raise AuditLogBroken(result)
    return _sign(connection, signer, head.seq, head.hash, at)


def _sign(connection: Connection, signer: CheckpointSigner, seq: int, chain_hash: bytes, at: dt.datetime) -> int | None:
    exists = connection.execute(select(AuditCheckpoint.seq).where(AuditCheckpoint.seq == seq)).first()
    if exists:
        return None
    authenticator = _authenticator(connection)
    try:
        # A savepoint: another process signing the same head at the same moment wins, and this
        # transaction goes on.
        with connection.begin_nested():
            connection.execute(
                insert(AuditCheckpoint).values(
                    seq=seq, hash=chain_hash, at=at, key_id=signer.key_id, signature=signer.sign(seq, chain_hash, at)
                )
            )
            # The head remembers the highest entry ever signed: a log whose checkpoints were all
            # deleted then differs from one never signed.
            head = connection.execute(select(AuditHead.__table__).where(AuditHead.id == HEAD_ID).with_for_update()).one()
            _write_head(connection, authenticator, head, checkpointed=max(head.checkpointed, seq))
    except IntegrityError:
        return None
    return seq


@dataclass
class Verification:
    """The result of checking the chain and its checkpoints."""

    valid: bool = True
    entries_checked: int = 0
    first_seq: int = 0
    last_seq: int = 0
    checkpoints_checked: int = 0
    last_checkpoint: int | None = None
    broken_at: int | None = None
    problem: str | None = None
    public_key_id: str = ""
    # Entries after the last stored checkpoint: chained and MACed, but not yet signed.
    unsigned_entries: int = 0
    # Entries written before MACs were introduced: covered only by the chain and checkpoints.
    unauthenticated_entries: int = 0
    # What the result does and does not establish, in words (also when valid).
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int, problem: str) -> None:
        """Record a problem; `broken_at` is the lowest entry with one (the first found there)."""
        if self.valid or seq < self.broken_at:  # type: ignore[operator]
            self.valid, self.broken_at, self.problem = False, seq, problem
        self.problems.append(f"entry {seq}: {problem}")
        self.problems.sort(key=lambda text: int(text.split(":", 1)[0].removeprefix("entry ")))


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: bytes
    at: dt.datetime
    key_id: str
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        # `at` as signed (crypto.audit.timestamp), so a verifier can use the served text as is.
        return {"seq": self.seq, "hash": self.hash.hex(), "at": timestamp(self.at), "key_id": self.key_id,
                "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(int(data["seq"]), bytes.fromhex(data["hash"]), dt.datetime.fromisoformat(data["at"]),
                   str(data["key_id"]), bytes.fromhex(data["signature"]))


def checkpoints(connection: Connection) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first."""
    rows = connection.execute(select(AuditCheckpoint.__table__).order_by(AuditCheckpoint.seq)).all()
    return [Checkpoint(r.seq, r.hash, r.at, r.key_id, r.signature) for r in rows]


CLOCK_SKEW = dt.timedelta(minutes=5)


def _prune_problem(entry: Any, base_seq: int, anchor: Any, period: dt.timedelta | None) -> str | None:
    """Why an audit.pruned entry about the current start does not justify it (None if it does).

    The prune must name the kept anchor (the newest entry that was past the period) and a
    cutoff after the anchor's own time and at least one audit-log period before the prune.
    Entry times are chained and never go backwards, so the dropped entries were older still.
    """
    detail = json.loads(entry.detail)
    if detail.get("anchor_hash") != anchor.hash.hex():
        return "records a prune whose anchor is not the log's first entry"
    cutoff = dt.datetime.fromisoformat(detail["cutoff"])
    if cutoff.tzinfo is None:
        return "records a prune with a cutoff without a time zone"
    if period is None:
        period = dt.timedelta(days=int(detail["period_days"]))
    if not anchor.at < cutoff <= entry.at - period:
        return "records a prune of entries younger than the audit log's period"
    return None


def verify(connection: Connection, public_key: bytes, kept: Iterable[Checkpoint] = (),
           period: dt.timedelta | None = None, now: dt.datetime | None = None) -> Verification:
    """Check every entry's hash, link, MAC and time, the head and its MAC, and every checkpoint.

    `kept` are checkpoints the verifier saved earlier (a DPO's own copies): each must still match
    the log, so a log rewritten since then is caught even if it was re-signed. A pruned log starts
    with its anchor entry, signed in a checkpoint, and must hold the audit.pruned entry that
    dropped what came before, for entries older than `period` (the audit log's retention period
    in force; without it, the period the entry states). Times must never go backwards nor lie
    after `now`, so a forged prune cannot claim old entries were older than they were.

    What can be pinpointed: an entry changed without re-hashing (its hash), removed or reordered
    (the links), appended or re-hashed without the MAC key (its MAC), the head moved or edited
    without the key (the head's MAC), the last checkpoint deleted (the head records it). A rewrite
    by someone holding the MAC key, re-hashed and re-MACed, shows only where a checkpoint no longer
    matches: the change lies between the last checkpoint that matches and that one, and which
    entry it was cannot be told. A rollback of the whole log and head to an earlier state is
    caught only by checkpoints kept outside the database (`kept`).
    """
    authenticator = _authenticator(connection)
    result = Verification(public_key_id=public_key_id(public_key))
    head = connection.execute(select(AuditHead.__table__).where(AuditHead.id == HEAD_ID)).one()
    head_ok = _head_ok(authenticator, head)
    # Until the head carries a MAC (a log not written since MACs came), no entry may carry one.
    # A head whose MAC fails is reported below; its mac_from still says which entries need one.
    mac_from = head.mac_from if head.mac is not None else None
    stored = checkpoints(connection)
    kept = list(kept)
    by_seq: dict[int, list[Checkpoint]] = {}
    for point in (*stored, *kept):
        by_seq.setdefault(point.seq, []).append(point)
    for point in (*stored, *kept):
        if point.key_id != result.public_key_id or not verify_checkpoint(public_key, point.seq, point.hash, point.at, point.signature):
            result.fail(point.seq, "a checkpoint's signature does not verify with the audit public key")
    result.checkpoints_checked = len(stored) + len(kept)

    base = head.base_seq
    result.first_seq = base + 1
    anchor: Any = None
    prune_recorded = False
    matched: set[int] = set()
    mismatched: list[int] = []
    expected, prev, prev_at = base + 1, head.base_hash, None
    # yield_per on the statement, not the connection: Connection.execution_options changes the
    # connection itself, and a checkpoint goes on to write through it.
    rows = connection.execute(
        select(AuditEntry.__table__).where(AuditEntry.seq > base).order_by(AuditEntry.seq).execution_options(yield_per=2000)
    )
    for entry in rows:
        if entry.seq != expected:
            result.fail(expected, f"missing: the next entry is {entry.seq}")
            expected = entry.seq
        elif entry.prev_hash != prev:
            result.fail(entry.seq, "does not follow the entry before it (removed or reordered)")
        digest = entry_hash(entry.prev_hash, entry.seq, entry.at, entry.kind, entry.actor, entry.detail)
        if digest != entry.hash:
            result.fail(entry.seq, "altered: its content does not match its hash")
        if entry.mac is not None or (mac_from is not None and entry.seq >= mac_from):
            if entry.mac is None:
                result.fail(entry.seq, "has no MAC: written without the audit MAC key")
            elif mac_from is None:
                result.fail(entry.seq, "carries a MAC but the log's head has none: the head was replaced")
            elif not authenticator.entry_ok(entry.hash, entry.mac):
                result.fail(entry.seq, "its MAC does not verify: written or re-hashed without the audit MAC key")
        else:
            result.unauthenticated_entries += 1
        if prev_at is not None and entry.at < prev_at:
            result.fail(entry.seq, "its time is before the time of the entry before it")
        if now is not None and entry.at > now + CLOCK_SKEW:
            result.fail(entry.seq, "its time is in the future")
        for point in by_seq.get(entry.seq, []):
            if point.hash != entry.hash:
                mismatched.append(entry.seq)
            else:
                matched.add(entry.seq)
        if base > 0 and entry.seq == base + 1:
            anchor = entry
        if entry.kind == PRUNED and anchor is not None:
            try:
                if json.loads(entry.detail).get("through_seq") == base:
                    problem = _prune_problem(entry, base, anchor, period)
                    if problem:
                        result.fail(entry.seq, problem)
                    prune_recorded = True
            except (ValueError, TypeError, KeyError, AttributeError):
                result.fail(entry.seq, "its detail is not readable")
        prev, prev_at, expected = entry.hash, entry.at, entry.seq + 1
        result.entries_checked += 1
    for seq in dict.fromkeys(mismatched):
        since = max((m for m in matched if m < seq), default=base) + 1
        result.fail(seq, f"does not match the signed checkpoint at this entry: an entry from {since} to {seq} was "
                         "changed and the chain re-hashed; which one cannot be told from the hashes")
    last = expected - 1
    result.last_seq = last
    if base > 0:
        if anchor is None or not any(point.hash == anchor.hash for point in by_seq.get(base + 1, [])):
            result.fail(base + 1, "the start of the pruned log is not anchored by a signed checkpoint")
        if not prune_recorded:
            result.fail(base + 1, "the log starts here but no audit.pruned entry records dropping what came before")
    if last != head.seq or prev != head.hash:
        result.fail(min(last, head.seq) + 1, f"the log ends at {last} but its head says {head.seq}: entries were removed")
    beyond = [p.seq for p in (*stored, *kept) if p.seq > last]
    if beyond:
        result.fail(last + 1, f"a signed checkpoint covers entry {min(beyond)}, past the end of the log: entries were removed")
    if head.mac is not None and not head_ok:
        result.fail(min(last, head.seq) + 1, "the log's head was changed without the audit MAC key")
    if head_ok and head.checkpointed > 0 and not any(p.seq == head.checkpointed for p in stored):
        result.fail(head.checkpointed, "the checkpoint signed at this entry is missing: checkpoints were deleted")
    signed = [p.seq for p in stored if p.seq <= last]
    result.last_checkpoint = max(signed) if signed else None
    result.unsigned_entries = last - (result.last_checkpoint or base)
    _explain(result, head_ok, head)
    return result


def _explain(result: Verification, head_ok: bool, head: Any) -> None:
    """Say in words what a result establishes and what it does not."""
    if result.unauthenticated_entries:
        result.notes.append(
            f"{result.unauthenticated_entries} entries were written before entries carried a MAC: they are covered "
            "only by the hash chain and the signed checkpoints"
        )
    if result.last_seq >= result.first_seq and result.last_checkpoint is None:
        if head_ok and head.checkpointed == 0:
            result.notes.append("no checkpoint has been signed yet: nothing is vouched for by a signature")
        elif not head_ok:
            result.notes.append("no checkpoint is stored, and the head cannot say whether one was ever signed")
    if result.unsigned_entries:
        result.notes.append(
            f"{result.unsigned_entries} entries after the last checkpoint are chained and MACed but not yet signed"
        )


def prune(connection: Connection, signer: CheckpointSigner, *, before: dt.datetime, at: dt.datetime, actor: str,
          period_days: int) -> int:
    """Drop entries older than `before`, keeping the rest verifiable; return how many were dropped.

    The newest entry older than `before` stays as the new start (the anchor), signed in a
    checkpoint; everything before it goes, and the prune is itself an entry naming the anchor,
    the cutoff and the period. The anchor goes at the next prune, once a newer entry has aged
    past the period (retention writes entries every run, so about a run interval later). Call it
    inside one transaction (the log is small: some entries an hour).
    """
    head = connection.execute(select(AuditHead.__table__).where(AuditHead.id == HEAD_ID).with_for_update()).one()
    anchor = _prune_anchor(connection, before, head.base_seq)
    if anchor is None:
        return 0
    _sign(connection, signer, anchor.seq, anchor.hash, at)
    append(connection, kind=PRUNED, actor=actor, at=at, detail={
        "through_seq": anchor.seq - 1, "anchor_hash": anchor.hash.hex(), "cutoff": before.isoformat(),
        "period_days": period_days,
    })
    head = connection.execute(select(AuditHead.__table__).where(AuditHead.id == HEAD_ID).with_for_update()).one()
    _write_head(connection, _authenticator(connection), head, base_seq=anchor.seq - 1, base_hash=anchor.prev_hash)
    dropped = connection.execute(delete(AuditEntry).where(AuditEntry.seq < anchor.seq)).rowcount
    # Older checkpoints go too; the one at the anchor stays.
    connection.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq < anchor.seq))
    return dropped


def _prune_anchor(connection: Connection, before: dt.datetime, base_seq: int) -> Any:
    """The entry a prune at `before` keeps as the new start (None if nothing would go)."""
    anchor = connection.execute(
        select(AuditEntry.seq, AuditEntry.hash, AuditEntry.prev_hash)
        .where(AuditEntry.at < before, AuditEntry.seq > base_seq)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    return anchor if anchor is not None and anchor.seq > base_seq + 1 else None


def prunable(connection: Connection, before: dt.datetime) -> int:
    """How many entries a prune at `before` would drop (for dry runs)."""
    base_seq = connection.execute(select(AuditHead.base_seq).where(AuditHead.id == HEAD_ID)).scalar_one()
    anchor = _prune_anchor(connection, before, base_seq)
    return 0 if anchor is None else anchor.seq - base_seq - 1


def genesis_row() -> dict[str, Any]:
    """The head of an empty log (inserted by the migration that creates the table)."""
    return {"id": HEAD_ID, "seq": 0, "hash": GENESIS, "base_seq": 0, "base_hash": GENESIS, "mac_from": 1, "checkpointed": 0,
            "mac": None}


def checkpoints_document(connection: Connection, public_key: bytes) -> dict[str, Any]:
    """The checkpoints and the public key, as the DPO downloads and keeps them (no private key needed)."""
    return {
        "algorithm": "Ed25519",
        "public_key": public_key.hex(),
        "key_id": public_key_id(public_key),
        "checkpoints": [point.as_json() for point in checkpoints(connection)],
    }


def entries_page(connection: Connection, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Entries with seq > after, in order, as hashed; and the `after` of the next page (None at the end)."""
    rows = connection.execute(
        select(AuditEntry.__table__).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit + 1)
    ).all()
    page = [
        {"seq": r.seq, "at": timestamp(r.at), "kind": r.kind, "actor": r.actor, "detail": r.detail,
         "prev_hash": r.prev_hash.hex(), "hash": r.hash.hex(), "mac": r.mac.hex() if r.mac is not None else None}
        for r in rows[:limit]
    ]
    return page, (page[-1]["seq"] if len(rows) > limit else None)


def latest(connection: Connection, kind: str, limit: int) -> list[tuple[int, dt.datetime, str]]:
    """The newest entries of one kind, newest first: (seq, at, detail as stored)."""
    rows = connection.execute(
        select(AuditEntry.seq, AuditEntry.at, AuditEntry.detail)
        .where(AuditEntry.kind == kind).order_by(AuditEntry.seq.desc()).limit(limit)
    ).all()
    return [(row.seq, row.at, row.detail) for row in rows]
