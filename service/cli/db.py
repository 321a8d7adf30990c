"""`safesignal db`: the schema of the database and of the key vault (Alembic migrations)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from service.cli.context import current_state

db_group = click.Group("db", help="Database schema (Alembic migrations).")


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head) to the database, and the key vault to its head."""
    from service.migrations import upgrade

    upgrade(current_state().engine, revision)
    upgrade(current_state().keys_engine, "head", target="keys")
    click.echo(f"database at {revision} ({current_state().engine.dialect.name}); key vault at head ({current_state().keys_engine.dialect.name})")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the migration revision of the database and of the key vault."""
    from service.migrations import current_revision

    click.echo(f"database: {current_revision(current_state().engine) or '(empty database)'}")
    click.echo(f"key vault: {current_revision(current_state().keys_engine) or '(empty database)'}")
