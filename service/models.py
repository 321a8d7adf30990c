"""Every model of the main database, so that the metadata is complete.

Each domain names the module of its models in its declaration (Domain.models); importing them all
here gives the migrations and the tests the whole schema, and a new domain's tables join by its
declaration alone. The key vault (service.vault.models) is a separate database with its own metadata.
"""

from __future__ import annotations

import importlib

from database.base import Base
from service.domains import DOMAINS

for _domain in DOMAINS:
    if _domain.models:
        importlib.import_module(_domain.models)

metadata = Base.metadata

__all__ = ["metadata"]
