"""The domains of the service, in order: the one list the application, the scheduler and retention read.

The order is behaviour. Their holdings, in this order, are the purge order (a used enrollment
code points at the credential it became, so devices go before partners;
tests/retention/test_retention_policy.py pins it); their blueprints, in this order, are the
OpenAPI document's; each domain's build() sees what the domains before it built.

A new capability is a package with its `domain.py` and one line here.
"""

from __future__ import annotations

from service.audit.domain import DOMAIN as audit
from service.console.domain import DOMAIN as console
from service.counter.domain import DOMAIN as counter
from service.coordinator.domain import DOMAIN as coordinator
from service.dashboard.domain import DOMAIN as dashboard
from service.devices.domain import DOMAIN as devices
from service.domain import Domain
from service.dpo.domain import DOMAIN as dpo
from service.notices.domain import DOMAIN as notices
from service.operator.domain import DOMAIN as operator
from service.partners.domain import DOMAIN as partners
from service.people.domain import DOMAIN as people
from service.reference.domain import DOMAIN as reference
from service.reports.domain import DOMAIN as reports
from service.retention.domain import DOMAIN as retention
from service.signals.domain import DOMAIN as signals
from service.sms.domain import DOMAIN as sms
from service.tracing.domain import DOMAIN as tracing
from service.vault.domain import DOMAIN as vault
from service.web.domain import DOMAIN as web

DOMAINS: tuple[Domain, ...] = (
    reports, devices, people, sms, partners, reference, signals, tracing, vault, audit, dpo, retention,
    counter, dashboard, notices, console, coordinator, operator, web,
)
