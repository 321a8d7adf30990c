"""What the devices domain stores, for retention: enrollment codes."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.devices.models import EnrollmentCode

# Codes go before credentials (service.holdings): a used code points at the credential it became.
HOLDINGS: tuple[Holding, ...] = (
    Holding("enrollment_codes", "main", EnrollmentCode.__table__, EnrollmentCode.__table__.c.expires_at,  # type: ignore[arg-type]
            "the end of the code's validity", frozenset({Expiry.DELETE})),
)
