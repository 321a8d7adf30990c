"""What the people domain stores, for retention: accounts, web sessions, the sign-in throttle."""

from __future__ import annotations

from retention.holdings import Holding
from retention.policy import Expiry
from service.people.models import Person, SignInThrottle, WebSession

_person = Person.__table__.c

# Sessions go before people (service.holdings): a session points at its person.
HOLDINGS: tuple[Holding, ...] = (
    Holding("web_sessions", "main", WebSession.__table__, WebSession.__table__.c.expires_at,  # type: ignore[arg-type]
            "the end of the session's absolute lifetime", frozenset({Expiry.DELETE})),
    Holding("sign_in_throttles", "main", SignInThrottle.__table__, SignInThrottle.__table__.c.window_start,  # type: ignore[arg-type]
            "the first failed sign-in of the window", frozenset({Expiry.DELETE})),
    Holding("people", "main", Person.__table__, _person.revoked_at,  # type: ignore[arg-type]
            "revocation (a person with access is kept)", frozenset({Expiry.DELETE}),
            where=_person.revoked_at.is_not(None),
            dependents=(WebSession.__table__.c.person_id,)),  # type: ignore[attr-defined]
)
