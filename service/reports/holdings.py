"""What the reports domain stores, for retention: each channel's report class and the idempotency records."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.reports.models import Report, Submission
from service.reports.registry import CHANNELS


def _report(data_class: str) -> Holding:
    return Holding(
        data_class, "main", Report.__table__, Report.__table__.c.epoch,  # type: ignore[arg-type]
        "the start of the UTC day the report was received",
        frozenset({Expiry.SHRED, Expiry.DELETE}), where=Report.__table__.c.data_class == data_class,
        counted=True,  # by the triggers of migration 0009
    )


HOLDINGS: tuple[Holding, ...] = (
    *(_report(channel.data_class) for channel in CHANNELS.values()),
    Holding("idempotency_records", "main", Submission.__table__, Submission.__table__.c.epoch,  # type: ignore[arg-type]
            "the start of the UTC day the report was received", frozenset({Expiry.DELETE}),
            counted=True),  # by the triggers of migration 0009
)
