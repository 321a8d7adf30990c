"""What the service stores, domain by domain: the holdings a retention run purges, in its order.

Each domain declares its holdings beside its models (service/<domain>/holdings.py); this is the
one place that lists the domains, and the order of the list is the purge order, which is
behaviour (a used enrollment code points at the credential it became, so codes go before
credentials). It is the order of the single list in retention/holdings.py it replaced;
tests/retention/test_retention_policy.py pins it.
"""

from __future__ import annotations

from retention import lease
from retention.coverage import Coverage
from retention.holdings import Holdings
from retention.holdings import stored_data_classes as _stored_data_classes
from service.audit import holdings as audit
from service.devices import holdings as devices
from service.keys import holdings as keys
from service.partners import holdings as partners
from service.reports import holdings as reports
from service.signals import holdings as signals
from service.tracing import holdings as tracing

# In purge order. A domain module only has to export HOLDINGS: giving each a register() later
# means replacing this tuple with the calls.
DOMAINS = (reports, devices, partners, signals, tracing, keys, audit, lease)


def holdings() -> Holdings:
    """Every domain's holdings, in purge order."""
    return Holdings(holding for domain in DOMAINS for holding in domain.HOLDINGS)


def coverage() -> Coverage:
    """Every table's retention: the domains' holdings, and what each domain exempts or purges with another table."""
    return Coverage(
        holdings(),
        purged_with={table: how for domain in DOMAINS for table, how in getattr(domain, "PURGED_WITH", {}).items()},
        exempt={table: why for domain in DOMAINS for table, why in getattr(domain, "EXEMPT", {}).items()},
    )


def stored_data_classes() -> set[str]:
    """Every data class a model of either database declares (service.models: the whole main schema)."""
    from service.keys.models import VaultBase
    from service.models import metadata  # noqa: F401 - every main model mapped, not only the held ones
    from database.base import Base

    return _stored_data_classes(Base, VaultBase)
