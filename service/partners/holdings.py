"""What the partners domain stores, for retention: credentials and organisations."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.partners.models import Credential, Organisation
from service.signals.models import Territory

ANONYMISED_NAME = "(anonymised)"

_organisation = Organisation.__table__.c

HOLDINGS: tuple[Holding, ...] = (
    Holding("credentials", "main", Credential.__table__, Credential.__table__.c.revoked_at,  # type: ignore[arg-type]
            "revocation (a credential in use is kept)", frozenset({Expiry.DELETE}),
            where=Credential.__table__.c.revoked_at.is_not(None)),
    Holding("organisations", "main", Organisation.__table__, _organisation.revoked_at,  # type: ignore[arg-type]
            "revocation (a partner in activity is kept)", frozenset({Expiry.ANONYMISE}),
            where=_organisation.revoked_at.is_not(None),
            anonymise={"name": ANONYMISED_NAME, "area": None}, anonymised=_organisation.name == ANONYMISED_NAME,
            # A prevention service's territory says which municipalities it watched: it goes
            # with the name (also for one anonymised before territories were purged).
            dependents=(Territory.__table__.c.organisation_id,)),  # type: ignore[attr-defined]
)
