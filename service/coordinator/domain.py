"""The coordinator domain: a field service coordinator's pages (devices and enrollment codes)."""

from __future__ import annotations

from service.domain import Domain

DOMAIN = Domain("coordinator", pages="service.coordinator.views:blp")
