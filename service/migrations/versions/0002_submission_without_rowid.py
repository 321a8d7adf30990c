"""submission: a WITHOUT ROWID table on SQLite

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Idempotency keys are random 32-byte hashes. In a rowid table SQLite keeps the rows in one B-tree
and the primary key in another, and every insert lands at a random place in the second; WITHOUT
ROWID keeps one B-tree. PostgreSQL is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("submission", recreate="always", table_kwargs={"sqlite_with_rowid": False}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("submission", recreate="always", table_kwargs={"sqlite_with_rowid": True}):
            pass
