"""The devices domain: field devices, enrolled with one-time codes."""

from __future__ import annotations

from service.devices import holdings
from service.domain import Domain

DOMAIN = Domain(
    "devices",
    blueprint="service.devices.views:blp",
    schemas="service.devices.schemas:SCHEMAS",
    holdings=holdings.HOLDINGS,
)
