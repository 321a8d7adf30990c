"""The key vault: the epoch data keys, wrapped by the key-encryption key, in a database of their own."""

from __future__ import annotations

from service.domain import Domain
from service.vault import holdings

DOMAIN = Domain(
    "vault",
    commands=("service.vault.commands:keys_group",),
    holdings=holdings.HOLDINGS,
)
