"""What the signals domain stores, for retention: tallies, releases and the privacy-budget ledger."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.signals.models import BudgetSpend, Release, Tally

HOLDINGS: tuple[Holding, ...] = (
    Holding("signal_tallies", "main", Tally.__table__, Tally.__table__.c.week,  # type: ignore[arg-type]
            "the Monday of the ISO week observed, from 00:00 UTC", frozenset({Expiry.DELETE}),
            counted=True),  # by the triggers of migration 0009
    Holding("signal_releases", "main", Release.__table__, Release.__table__.c.week,  # type: ignore[arg-type]
            "the Monday of the ISO week released, from 00:00 UTC", frozenset({Expiry.DELETE})),
    Holding("privacy_budget_ledger", "main", BudgetSpend.__table__, BudgetSpend.__table__.c.week,  # type: ignore[arg-type]
            "the Monday of the ISO week opened, from 00:00 UTC", frozenset({Expiry.DELETE})),
)
