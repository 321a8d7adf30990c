"""key vault: epoch data keys

Revision ID: k0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = 'k0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_key',
    sa.Column('key_id', sa.LargeBinary(length=16), nullable=False),
    sa.Column('data_class', sa.String(length=32), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('kek_id', sa.String(length=64), nullable=True),
    sa.Column('wrapped', sa.LargeBinary(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_data_key')),
    sa.UniqueConstraint('data_class', 'epoch', name=op.f('uq_data_key_data_class'))
    )


def downgrade() -> None:
    op.drop_table('data_key')
