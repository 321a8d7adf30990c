"""The audit domain: the hash-chained audit log and its signed checkpoints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from service.audit import holdings
from service.config import require_integers
from service.domain import Domain, Job

DEFAULTS: dict[str, Any] = {
    # How often the scheduler signs a checkpoint.
    "AUDIT_CHECKPOINT_MINUTES": 60,
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse a checkpoint interval that cannot run."""
    require_integers(config, ("AUDIT_CHECKPOINT_MINUTES",), least=1)

log = logging.getLogger("service.scheduler")


def checkpoint_job(state: Any) -> None:
    """Sign a checkpoint of the log's head, if it moved and the log verifies."""
    from service.audit import log as audit

    try:
        with state.engine.begin() as connection:
            # Verified with the policy's period, as retention and `safesignal audit checkpoint` do:
            # without it a prune would be judged by the period it claims for itself.
            seq = audit.checkpoint(connection, state.retention.signer, state.clock(), state.policies["audit_log"].period)
    except audit.AuditLogBroken as error:
        log.error("audit log checkpoint not signed: %s", error)
        return
    if seq is not None:
        log.info("audit log checkpoint signed at entry %d", seq)


DOMAIN = Domain(
    "audit",
    models="service.audit.models",
    defaults=DEFAULTS,
    check=check,
    commands=("service.audit.commands:audit_group",),
    jobs=(Job("audit-checkpoint", "audit log: sign a checkpoint", "AUDIT_CHECKPOINT_MINUTES", checkpoint_job),),
    holdings=holdings.HOLDINGS,
    exempt=holdings.EXEMPT,
    purged_with=holdings.PURGED_WITH,
)
