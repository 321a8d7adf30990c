"""The devices domain: field devices, enrolled with one-time codes."""

from __future__ import annotations

from typing import Any

from service.devices import holdings
from service.domain import Domain

DEFAULTS: dict[str, Any] = {
    # Enrollment codes for field devices.
    "ENROLLMENT_CODE_TTL_HOURS": 24,
}

DOMAIN = Domain(
    "devices",
    models="service.devices.models",
    defaults=DEFAULTS,
    blueprint="service.devices.views:blp",
    schemas="service.devices.schemas:SCHEMAS",
    commands=("service.devices.commands:devices_group",),
    holdings=holdings.HOLDINGS,
)
