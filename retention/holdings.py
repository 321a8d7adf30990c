"""Where each data class lives, what its period counts from, and what can be done at expiry.

The policy file says how long; this module says where: the table, the column a record's age is
counted from, and the actions its storage supports (only encrypted classes can be shredded, only
classes with identifying fields to overwrite can be anonymised). Every stored table names its
data class in `__data_class__`; `stored_data_classes()` walks the models, so a new table without
a policy stops the service at start (retention.policy.check_coverage) and fails CI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Date, Table, and_, or_, select, true

from retention.models import Lease
from retention.policy import Expiry
from service.audit.models import AuditEntry, AuditHead
from service.devices.models import EnrollmentCode
from service.keys.models import DataKeyRecord, VaultBase
from service.partners.models import Credential, Organisation
from service.reports.models import Report, Submission
from service.signals.models import BudgetSpend, Release, Tally, Territory
from service.tracing.models import CodeQuota, ExportFile, KeyUpload, RedeemFailures, UsedToken, VerificationCode

ANONYMISED_NAME = "(anonymised)"


def last_expired_epoch(cutoff: dt.datetime) -> dt.date:
    """The newest epoch (UTC day) whose start lies strictly before `cutoff`."""
    day = cutoff.astimezone(dt.timezone.utc)
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.date() if day > midnight else day.date() - dt.timedelta(days=1)


def epoch_start(epoch: dt.date) -> dt.datetime:
    return dt.datetime.combine(epoch, dt.time(), tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Holding:
    """One data class's rows: table, filter, age column and possible actions."""

    data_class: str
    database: Literal["main", "keys"]
    table: Table
    age: Column[Any]
    counted_from: str
    actions: frozenset[Expiry]
    where: ColumnElement[bool] = field(default_factory=true)
    # For anonymise: the values written, and how to tell a row that already has them.
    anonymise: dict[str, Any] | None = None
    anonymised: ColumnElement[bool] | None = None
    # Foreign keys of rows in other tables that belong to a record and are deleted once it is
    # past its period (what an anonymised record keeps must not be more than its own fields).
    dependents: tuple[Column[Any], ...] = ()

    @property
    def by_epoch(self) -> bool:
        return isinstance(self.age.type, Date)

    @property
    def key(self) -> Column[Any]:
        (column,) = self.table.primary_key.columns
        return column

    def past(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows past their period at `cutoff`, handled already or not."""
        if self.by_epoch:
            return and_(self.where, self.age <= last_expired_epoch(cutoff))
        return and_(self.where, self.age < cutoff)

    def expired(self, cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows past their period at `cutoff` that the action still has to handle."""
        if self.anonymised is not None:
            return and_(self.past(cutoff), ~self.anonymised)
        return self.past(cutoff)

    def dependents_past(self, dependent: Column[Any], cutoff: dt.datetime) -> ColumnElement[bool]:
        """Rows of a dependent table whose record is past its period at `cutoff`."""
        return dependent.in_(select(self.key).where(self.past(cutoff)))

    def age_of(self, value: dt.date | dt.datetime, now: dt.datetime) -> dt.timedelta:
        """How old a record with this age value is at `now`."""
        start = epoch_start(value) if self.by_epoch and not isinstance(value, dt.datetime) else value
        return now - start  # type: ignore[operator]


def _report(data_class: str) -> Holding:
    return Holding(
        data_class, "main", Report.__table__, Report.__table__.c.epoch,  # type: ignore[arg-type]
        "the start of the UTC day the report was received",
        frozenset({Expiry.SHRED, Expiry.DELETE}), where=Report.__table__.c.data_class == data_class,
    )


def _not_the_anchor() -> ColumnElement[bool]:
    """Audit entries other than the anchor a prune keeps as the log's first entry (which is
    past the period by design, until the next prune moves the start on)."""
    head = AuditHead.__table__
    anchor = select(head.c.base_seq + 1).where(head.c.base_seq > 0).scalar_subquery()
    return or_(anchor.is_(None), AuditEntry.__table__.c.seq != anchor)


def _holdings() -> tuple[Holding, ...]:
    organisation = Organisation.__table__.c
    return (
        _report("pharmacy_reports"),
        _report("field_reports"),
        Holding("idempotency_records", "main", Submission.__table__, Submission.__table__.c.epoch,  # type: ignore[arg-type]
                "the start of the UTC day the report was received", frozenset({Expiry.DELETE})),
        # Codes go before credentials: a used code points at the credential it became.
        Holding("enrollment_codes", "main", EnrollmentCode.__table__, EnrollmentCode.__table__.c.expires_at,  # type: ignore[arg-type]
                "the end of the code's validity", frozenset({Expiry.DELETE})),
        Holding("credentials", "main", Credential.__table__, Credential.__table__.c.revoked_at,  # type: ignore[arg-type]
                "revocation (a credential in use is kept)", frozenset({Expiry.DELETE}),
                where=Credential.__table__.c.revoked_at.is_not(None)),
        Holding("organisations", "main", Organisation.__table__, organisation.revoked_at,  # type: ignore[arg-type]
                "revocation (a partner in activity is kept)", frozenset({Expiry.ANONYMISE}),
                where=organisation.revoked_at.is_not(None),
                anonymise={"name": ANONYMISED_NAME, "area": None}, anonymised=organisation.name == ANONYMISED_NAME,
                # A prevention service's territory says which municipalities it watched: it goes
                # with the name (also for one anonymised before territories were purged).
                dependents=(Territory.__table__.c.organisation_id,)),  # type: ignore[attr-defined]
        Holding("signal_tallies", "main", Tally.__table__, Tally.__table__.c.week,  # type: ignore[arg-type]
                "the start of the ISO week observed (Monday, UTC)", frozenset({Expiry.DELETE})),
        Holding("signal_releases", "main", Release.__table__, Release.__table__.c.week,  # type: ignore[arg-type]
                "the start of the ISO week released (Monday, UTC)", frozenset({Expiry.DELETE})),
        Holding("privacy_budget_ledger", "main", BudgetSpend.__table__, BudgetSpend.__table__.c.week,  # type: ignore[arg-type]
                "the start of the ISO week opened (Monday, UTC)", frozenset({Expiry.DELETE})),
        Holding("exposure_keys", "main", KeyUpload.__table__, KeyUpload.__table__.c.epoch,  # type: ignore[arg-type]
                "the start of the UTC day the keys were uploaded", frozenset({Expiry.SHRED, Expiry.DELETE})),
        Holding("export_batches", "main", ExportFile.__table__, ExportFile.__table__.c.window_end,  # type: ignore[arg-type]
                "the end of the batch's window", frozenset({Expiry.DELETE})),
        Holding("verification_codes", "main", VerificationCode.__table__, VerificationCode.__table__.c.expires_at,  # type: ignore[arg-type]
                "the end of the code's validity", frozenset({Expiry.DELETE})),
        Holding("code_quotas", "main", CodeQuota.__table__, CodeQuota.__table__.c.day,  # type: ignore[arg-type]
                "the start of the UTC day counted", frozenset({Expiry.DELETE})),
        Holding("upload_token_ids", "main", UsedToken.__table__, UsedToken.__table__.c.expires_at,  # type: ignore[arg-type]
                "the token's expiry", frozenset({Expiry.DELETE})),
        Holding("redeem_failure_counts", "main", RedeemFailures.__table__, RedeemFailures.__table__.c.hour,  # type: ignore[arg-type]
                "the start of the hour counted", frozenset({Expiry.DELETE})),
        Holding("data_keys", "keys", DataKeyRecord.__table__, DataKeyRecord.__table__.c.destroyed_at,  # type: ignore[arg-type]
                "the key's destruction (a live key expires with the class it protects)", frozenset({Expiry.DELETE}),
                where=DataKeyRecord.__table__.c.destroyed_at.is_not(None)),
        Holding("audit_log", "main", AuditEntry.__table__, AuditEntry.__table__.c.at,  # type: ignore[arg-type]
                "the entry's time (pruning keeps the rest verifiable)", frozenset({Expiry.DELETE}),
                where=_not_the_anchor()),
        Holding("leases", "main", Lease.__table__, Lease.__table__.c.expires_at,  # type: ignore[arg-type]
                "the lease's expiry", frozenset({Expiry.DELETE})),
    )


HOLDINGS: tuple[Holding, ...] = _holdings()
BY_CLASS = {holding.data_class: holding for holding in HOLDINGS}


def _declared(mappers: Any) -> Iterator[tuple[str, str]]:
    for mapper in mappers:
        declared = getattr(mapper.class_, "__data_class__", None)
        names = (declared,) if isinstance(declared, str) else tuple(declared or ())
        for name in names:
            yield mapper.class_.__name__, name


def stored_data_classes() -> set[str]:
    """Every data class a model of either database declares."""
    from service.db import Base

    return {name for _, name in _declared((*Base.registry.mappers, *VaultBase.registry.mappers))}


def supported_actions() -> dict[str, frozenset[Expiry]]:
    return {holding.data_class: holding.actions for holding in HOLDINGS}
