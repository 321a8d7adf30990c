"""What the DPO reads, as the wire types of service.dpo.schemas: one source for the API and the pages.

The API's views and the DPO's console (service.console) both answer with these, so the console's
same-origin routes for the in-browser audit check serve byte for byte what GET /v1/dpo/audit/...
serves. No Flask here: the caller hands in the deployment's retention and engine.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict
from typing import Any

import msgspec
from sqlalchemy import Engine

from retention.record import record
from service.audit import log as audit_log
from service.dpo import schemas

_DIGITS = re.compile(r"[0-9]{1,19}")


def integer(raw: str | None, default: int, low: int, high: int) -> int | None:
    """A query argument as an int in [low, high]; `default` when absent; None when it is not one."""
    if raw is None:
        return default
    # ASCII digits only (str.isdigit also takes "²" and other scripts' digits), and few enough
    # that int() never refuses them.
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        return None
    return int(raw)


def processing_record(retention: Any) -> schemas.ProcessingRecord:
    """The GDPR Art. 30 record, from the policy file and the holdings."""
    return msgspec.convert(record(retention.policies, retention.holdings), schemas.ProcessingRecord)


def retention_runs(retention: Any, limit: int) -> list[schemas.RetentionRun]:
    """The latest retention outcomes per data class, newest first (from the audit log)."""
    return [msgspec.convert(run, schemas.RetentionRun) for run in retention.runs(limit)]


def compliance(retention: Any, now: dt.datetime) -> schemas.Compliance:
    """Compliance now, per data class and for the vault's erasure of destroyed keys."""
    statuses = retention.status()
    vault = retention.vault_status()
    return schemas.Compliance(
        checked_at=now.isoformat(),
        compliant=all(s.compliant for s in statuses) and vault.compliant,
        data_classes=[schemas.ClassCompliance(**asdict(s)) for s in statuses],
        vault=schemas.VaultErasure(vault.pending_keys, vault.pending_since, vault.compliant),
    )


def inventory(retention: Any) -> list[schemas.InventoryRow]:
    """Record counts per epoch-keyed data class and UTC day, and whether the day's key lives."""
    return [msgspec.convert(row, schemas.InventoryRow) for row in retention.inventory()]


def verification(retention: Any) -> schemas.Verification:
    """The server's verdict on the audit log now."""
    result = retention.verify_audit()
    return schemas.Verification(**{name: getattr(result, name) for name in schemas.Verification.__struct_fields__})


def checkpoints(engine: Engine, public_key: bytes) -> schemas.Checkpoints:
    """The signed checkpoints and the public key that verifies them."""
    with engine.connect() as connection:
        document = audit_log.checkpoints_document(connection, public_key)
    return msgspec.convert(document, schemas.Checkpoints)


def audit_entries(engine: Engine, after: int, limit: int) -> schemas.AuditEntries:
    """A page of the audit log as hashed: entries with seq > after, and the next page's `after`."""
    with engine.connect() as connection:
        page, next_after = audit_log.entries_page(connection, after=after, limit=limit)
    return schemas.AuditEntries([schemas.AuditEntry(**entry) for entry in page], next_after)
