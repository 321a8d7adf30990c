"""Alembic migrations of the two databases: the main one and the key vault.

Each has its own revision history (versions/ and keys_versions/) and its own metadata; the one
env.py serves both. `upgrade(engine)` is what `safesignal db upgrade` and the tests call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

HERE = Path(__file__).parent
Target = Literal["main", "keys"]
VERSIONS: dict[str, str] = {"main": "versions", "keys": "keys_versions"}


def target_metadata(target: Target) -> MetaData:
    """The models a target database holds."""
    if target == "keys":
        from service.vault.models import VaultBase

        return VaultBase.metadata
    from service.models import metadata

    return metadata


def alembic_config(engine: Engine, target: Target = "main") -> Config:
    """An Alembic configuration bound to `engine` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(HERE / VERSIONS[target]))
    config.attributes["engine"] = engine
    config.attributes["metadata"] = target_metadata(target)
    return config


def upgrade(engine: Engine, revision: str = "head", target: Target = "main") -> None:
    """Migrate the database to `revision`."""
    command.upgrade(alembic_config(engine, target), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
