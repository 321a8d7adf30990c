"""Wire types of the DPO's view. Counts and ids only: no payload, pseudonym or token."""

from __future__ import annotations

from typing import Literal

import msgspec


class Bounds(msgspec.Struct):
    min_days: int
    max_days: int


class DataClassPolicy(msgspec.Struct):
    """One data class's policy, as the retention jobs apply it."""

    data_class: str
    description: str
    purpose: str
    legal_basis: str
    data_subjects: list[str]
    categories: list[str]
    recipients: list[str]
    period_days: int
    on_expiry: Literal["shred", "delete", "anonymise"]
    counted_from: str


class Policies(msgspec.Struct):
    """The retention policy file in force."""

    version: int
    source: str
    bounds: Bounds
    data_classes: list[DataClassPolicy]


class Party(msgspec.Struct):
    name: str
    contact: str


class Contact(msgspec.Struct):
    contact: str


class TimeLimit(msgspec.Struct):
    period_days: int
    counted_from: str
    at_expiry: str
    on_expiry: str


class ProcessingActivity(msgspec.Struct):
    data_class: str
    description: str
    purpose: str
    legal_basis: str
    data_subjects: list[str]
    categories_of_data: list[str]
    recipients: list[str]
    time_limit_for_erasure: TimeLimit


class ProcessingRecord(msgspec.Struct):
    """The GDPR Art. 30 record of processing activities, generated from the policy file."""

    controller: Party
    data_protection_officer: Contact
    transfers_to_third_countries: str
    processors: list[str]
    dpia_reference: str
    data_subject_rights: str
    security_measures: list[str]
    processing_activities: list[ProcessingActivity]
    policy_source: str
    # Fields still saying "TO BE COMPLETED BY THE CONTROLLER" in the policy file.
    to_complete: list[str]


class RetentionRun(msgspec.Struct):
    """One data class's outcome in one retention run (from the audit log)."""

    seq: int
    at: str
    run_id: str
    data_class: str
    action: str
    cutoff: str
    period_days: int
    rows: int
    keys_destroyed: int
    duration_ms: int
    longest_transaction_ms: float
    outcome: Literal["ok", "error"]
    error: str | None = None


class ClassCompliance(msgspec.Struct):
    """Compliance of a data class now: `past_period` and `live_keys_past_period` must be 0."""

    data_class: str
    period_days: int
    on_expiry: str
    records: int
    oldest_age_days: float | None
    past_period: int
    live_keys_past_period: int
    compliant: bool


class VaultErasure(msgspec.Struct):
    """Destroyed data keys whose old bytes may still be in the key vault's files (a reader held
    them during the shred; each retention run retries). Non-compliant once the oldest has been
    pending longer than SAFESIGNAL_RETENTION_VAULT_ERASE_GRACE_MINUTES."""

    pending_keys: int
    pending_since: str | None
    compliant: bool


class Compliance(msgspec.Struct):
    checked_at: str
    compliant: bool
    data_classes: list[ClassCompliance]
    vault: VaultErasure


class InventoryRow(msgspec.Struct):
    """How many records of a class an epoch (UTC day) holds, and whether its data key lives."""

    data_class: str
    epoch: str
    age_days: int
    records: int
    key: Literal["live", "destroyed", "none"]


class Verification(msgspec.Struct):
    """The audit log checked now: every entry's hash and link, the head, every checkpoint."""

    valid: bool
    entries_checked: int
    first_seq: int
    last_seq: int
    checkpoints_checked: int
    last_checkpoint: int | None
    broken_at: int | None
    problem: str | None
    public_key_id: str
    # Entries after the last checkpoint (not yet signed), entries without a MAC (written before
    # MACs were introduced: only the chain and checkpoints cover them), and what the result does
    # and does not establish, in words.
    unsigned_entries: int = 0
    unauthenticated_entries: int = 0
    notes: list[str] = []
    problems: list[str] = []


class Checkpoint(msgspec.Struct):
    """`at` as signed: YYYY-MM-DDTHH:MM:SS.ffffffZ (crypto.audit)."""

    seq: int
    hash: str
    at: str
    key_id: str
    signature: str


class Checkpoints(msgspec.Struct):
    """Signed checkpoints and the public key that verifies them: keep them, and pass them to
    `safesignal audit verify --checkpoints` later to check nothing was rewritten since."""

    algorithm: Literal["Ed25519"]
    public_key: str
    key_id: str
    checkpoints: list[Checkpoint]


class AuditEntry(msgspec.Struct):
    """An entry as hashed (crypto.audit): `detail` is the canonical JSON text, hashes in hex."""

    seq: int
    at: str
    kind: str
    actor: str
    detail: str
    prev_hash: str
    hash: str
    # HMAC under the service's audit MAC key (only the service can check it); null for entries
    # written before MACs were introduced.
    mac: str | None = None


class AuditEntries(msgspec.Struct):
    """A page of the log in order; ask again with after=next_after until it is null."""

    entries: list[AuditEntry]
    next_after: int | None


SCHEMAS = (Policies, ProcessingRecord, RetentionRun, Compliance, InventoryRow, Verification, Checkpoints, AuditEntries)
