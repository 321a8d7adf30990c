"""The operator domain: the operator's pages, what the `safesignal partners|people|tracing|signals`
commands do, through the same services and with the same audit entries."""

from __future__ import annotations

from service.domain import Domain

DOMAIN = Domain("operator", pages="service.operator.views:blp")
