"""What the key vault stores, for retention: the destroyed data keys' rows."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.vault.models import DataKeyRecord

HOLDINGS: tuple[Holding, ...] = (
    Holding("data_keys", "keys", DataKeyRecord.__table__, DataKeyRecord.__table__.c.destroyed_at,  # type: ignore[arg-type]
            "the key's destruction (a live key expires with the class it protects)", frozenset({Expiry.DELETE}),
            where=DataKeyRecord.__table__.c.destroyed_at.is_not(None)),
)
