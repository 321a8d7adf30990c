"""The counter domain: the pharmacy's pages (report at the counter, verification codes)."""

from __future__ import annotations

from service.domain import Domain

DOMAIN = Domain("counter", pages="service.counter.views:blp")
