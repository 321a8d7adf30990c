"""The partners domain: organisations and their API credentials."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from service.config import require_integers
from service.domain import Domain
from service.partners import holdings

DEFAULTS: dict[str, Any] = {
    # How long a verified token is trusted without reading the database again; a revocation
    # takes effect in every worker within this time. 0 checks the database on every request.
    "AUTH_CACHE_SECONDS": 5,
}


def check(config: Mapping[str, Any]) -> None:
    """Refuse a token cache that cannot run."""
    require_integers(config, ("AUTH_CACHE_SECONDS",), least=0)


def build(config: Mapping[str, Any], state: Any) -> Any:
    """The cache of verified credentials."""
    from service.partners.services import CredentialCache

    return CredentialCache(config["AUTH_CACHE_SECONDS"], config.get("MONOTONIC_CLOCK") or time.monotonic)


DOMAIN = Domain(
    "partners",
    models="service.partners.models",
    defaults=DEFAULTS,
    check=check,
    build=build,
    provides="credentials",
    commands=("service.partners.commands:partners_group",),
    holdings=holdings.HOLDINGS,
)
