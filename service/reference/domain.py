"""The reference domain: what a deployment's partners look up (taxonomy, areas)."""

from __future__ import annotations

from service.domain import Domain

DOMAIN = Domain(
    "reference",
    blueprint="service.reference.views:blp",
    commands=("service.reference.commands:areas",),
)
