"""The DPO domain: what the data-protection officer reads."""

from __future__ import annotations

from service.domain import Domain

DOMAIN = Domain(
    "dpo",
    blueprint="service.dpo.views:blp",
    schemas="service.dpo.schemas:SCHEMAS",
    commands=("service.dpo.commands:dpo_group",),
)
