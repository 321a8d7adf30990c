"""What the audit domain stores, for retention: the log's entries (pruned, not deleted: see retention.purge)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select

from retention.holdings import Holding
from retention.policy import Expiry
from service.audit.models import AuditEntry, AuditHead


def _not_the_anchor() -> ColumnElement[bool]:
    """Audit entries other than the anchor a prune keeps as the log's first entry (which is
    past the period by design, until the next prune moves the start on)."""
    head = AuditHead.__table__
    anchor = select(head.c.base_seq + 1).where(head.c.base_seq > 0).scalar_subquery()
    return or_(anchor.is_(None), AuditEntry.__table__.c.seq != anchor)


HOLDINGS: tuple[Holding, ...] = (
    Holding("audit_log", "main", AuditEntry.__table__, AuditEntry.__table__.c.at,  # type: ignore[arg-type]
            "the entry's time (pruning keeps the rest verifiable)", frozenset({Expiry.DELETE}),
            where=_not_the_anchor()),
)

# The head is one row that changes with the log; checkpoints go with the entries they signed.
EXEMPT = {
    "audit_head": "one row: the audit log's head hash and the anchor of its last prune; it changes with the log "
                  "and holds no entry of its own",
}
PURGED_WITH = {
    "audit_checkpoint": ("audit_log", "checkpoints before the log's new start go with the entries they signed "
                                      "(service.audit.log.prune)"),
}
