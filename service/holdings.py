"""What the service stores, domain by domain: the holdings a retention run purges, in its order.

Each domain declares its holdings beside its models (service/<domain>/holdings.py) and hands
them in with its declaration (service/<domain>/domain.py). The order of service.domains.DOMAINS
is the purge order, which is behaviour (a used enrollment code points at the credential it
became, so codes go before credentials); tests/retention/test_retention_policy.py pins it.
"""

from __future__ import annotations

from retention.coverage import Coverage
from retention.holdings import Holdings
from retention.holdings import stored_data_classes as _stored_data_classes
from service.domains import DOMAINS


def holdings() -> Holdings:
    """Every domain's holdings, in purge order."""
    return Holdings(holding for domain in DOMAINS for holding in domain.holdings)


def coverage() -> Coverage:
    """Every table's retention: the domains' holdings, and what each domain exempts or purges with another table."""
    return Coverage(
        holdings(),
        purged_with={table: how for domain in DOMAINS for table, how in domain.purged_with.items()},
        exempt={table: why for domain in DOMAINS for table, why in domain.exempt.items()},
    )


def stored_data_classes() -> set[str]:
    """Every data class a model of either database declares (service.models: the whole main schema)."""
    from service.vault.models import VaultBase
    from service.models import metadata  # noqa: F401 - every main model mapped, not only the held ones
    from database.base import Base

    return _stored_data_classes(Base, VaultBase)
