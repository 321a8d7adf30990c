"""Alembic environment: migrations run on the engine and metadata the caller passes (see __init__.py)."""

from __future__ import annotations

from alembic import context

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=config.attributes["metadata"],
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    context.run_migrations()
