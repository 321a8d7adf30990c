"""The retention domain: the retention library built over the domains' holdings, its lease, its job."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import Any

from retention import lease
from service.config import require_integers, require_number
from service.domain import Domain, Job

DEFAULTS: dict[str, Any] = {
    # Rows per purge transaction, how often the scheduler runs retention, and how long a
    # retention lease lasts without renewal (SQLite; PostgreSQL uses an advisory lock).
    # The policy file itself is shared (service.config): every domain's data classes.
    "RETENTION_BATCH_SIZE": 200,
    # After each batch the purge pauses this many times the batch's duration (0: flat out).
    "RETENTION_PAUSE_RATIO": 1.0,
    "RETENTION_INTERVAL_MINUTES": 60,
    "RETENTION_LEASE_SECONDS": 120,
    # A destroyed data key's old bytes leave the vault's files once no reader holds them (each
    # run retries); pending longer than this, `retention status` and the DPO's view say non-compliant.
    "RETENTION_VAULT_ERASE_GRACE_MINUTES": 120,
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse retention settings that cannot run."""
    require_number(config, "RETENTION_PAUSE_RATIO", 0, 100, inclusive=True)
    require_integers(config, ("RETENTION_BATCH_SIZE", "RETENTION_INTERVAL_MINUTES", "RETENTION_LEASE_SECONDS",
                              "RETENTION_VAULT_ERASE_GRACE_MINUTES"), least=1)

log = logging.getLogger("service.scheduler")


def build(config: Mapping[str, Any], state: Any) -> Any:
    """Retention over the domains' holdings and policies, with the audit log and its keys."""
    from retention.purge import Retention
    from service.audit import log as audit_log
    from service.secrets import load_audit_public_key, load_audit_signer

    audit_public_key = load_audit_public_key(config)  # type: ignore[arg-type]
    return Retention(
        engine=state.engine,
        keys_engine=state.keys_engine,
        keystore=state.keystore,
        keyring=state.keyring,
        policies=state.policies,
        holdings=state.holdings,
        audit_log=audit_log,
        # With SAFESIGNAL_AUDIT_PUBLIC_KEY set, the private key is read only by a process that
        # signs (the scheduler, the CLI), never by the API, which only verifies.
        signer=functools.partial(_matching_audit_signer, config, state.instance_path, audit_public_key) if audit_public_key
        else load_audit_signer(config, state.instance_path),  # type: ignore[arg-type]
        public_key=audit_public_key,
        clock=state.clock,
        batch_size=config["RETENTION_BATCH_SIZE"],
        pause_ratio=float(config["RETENTION_PAUSE_RATIO"]),
        lease_ttl=dt.timedelta(seconds=config["RETENTION_LEASE_SECONDS"]),
        erase_grace=dt.timedelta(minutes=config["RETENTION_VAULT_ERASE_GRACE_MINUTES"]),
    )


def _matching_audit_signer(config: Mapping[str, Any], instance_path: str, public_key: bytes) -> Any:
    """The audit signing key, refused unless it is the configured public key's (read on first signature)."""
    from service.config import ConfigError
    from service.secrets import load_audit_signer

    signer = load_audit_signer(config, instance_path)  # type: ignore[arg-type]
    if signer.public_key != public_key:
        raise ConfigError("the audit signing key does not match SAFESIGNAL_AUDIT_PUBLIC_KEY")
    return signer


def retention_job(state: Any) -> None:
    """Run retention once; log what each data class lost, and every failure."""
    outcome = state.retention.run(actor="scheduler")
    if outcome.skipped:
        return
    for result in outcome.classes:
        if result.outcome != "ok":
            log.error("retention of %s failed: %s", result.data_class, result.error)
        elif result.rows or result.keys_destroyed:
            log.info("retention of %s: %d rows, %d keys destroyed", result.data_class, result.rows, result.keys_destroyed)


DOMAIN = Domain(
    "retention",
    models="retention.models",
    defaults=DEFAULTS,
    check=check,
    build=build,
    commands=("service.retention.commands:retention_group",),
    jobs=(Job("retention", "retention: shred, delete, anonymise", "RETENTION_INTERVAL_MINUTES", retention_job),),
    # The retention lease's row goes last (retention.lease).
    holdings=lease.HOLDINGS,
    exempt={"held_count": "counts per data class and day of the rows of the counted classes' own tables, kept by "
                          "their triggers (retention.models): numbers, no record; a day's count goes with its "
                          "last record"},
)
