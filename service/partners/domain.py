"""The partners domain: organisations and their API credentials."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from service.domain import Domain
from service.partners import holdings


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The cache of verified credentials."""
    from service.partners.services import CredentialCache

    return CredentialCache(config["AUTH_CACHE_SECONDS"], config.get("MONOTONIC_CLOCK") or time.monotonic)


DOMAIN = Domain(
    "partners",
    build=build,
    provides="credentials",
    holdings=holdings.HOLDINGS,
)
