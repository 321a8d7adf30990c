"""The migrations and the models describe the same schema, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.migrations import HERE, alembic_config, current_revision
from service.models import metadata


def test_the_migrated_schema_matches_the_models(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_the_database_is_at_the_single_head(db_engine):
    heads = ScriptDirectory.from_config(alembic_config(db_engine)).get_heads()
    assert len(heads) == 1
    assert current_revision(db_engine) == heads[0]
    assert (HERE / "versions").is_dir()


def test_the_key_vault_schema_matches_its_models(app):
    from service.vault.models import VaultBase

    keys_engine = app.extensions["safesignal"].keys_engine
    with keys_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, VaultBase.metadata) == []
    heads = ScriptDirectory.from_config(alembic_config(keys_engine, "keys")).get_heads()
    assert len(heads) == 1 and current_revision(keys_engine) == heads[0]
