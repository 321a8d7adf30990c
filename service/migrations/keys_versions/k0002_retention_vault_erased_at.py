"""key vault: when a destroyed key's bytes were confirmed gone from the vault's files

Revision ID: k0002
Revises: k0001
Create Date: 2026-12-06

Keys destroyed before this revision stay pending (erased_at NULL): nothing proved their bytes
left the files, so the next retention run erases them and says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = 'k0002'
down_revision = 'k0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('data_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('data_key', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
