"""audit log: a MAC per entry and on the head; the head records the first MACed entry and the last checkpoint

Entries written before this revision keep no MAC (mac_from is set past them): they stay covered
by the hash chain and the signed checkpoints only. checkpointed starts at the highest checkpoint
stored now. The head's MAC is written by the first append after the upgrade (a migration holds
no key).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.LargeBinary(length=32), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac_from', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('checkpointed', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('mac', sa.LargeBinary(length=32), nullable=True))
    op.execute(
        "UPDATE audit_head SET mac_from = seq + 1, "
        "checkpointed = COALESCE((SELECT MAX(seq) FROM audit_checkpoint), 0)"
    )
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.alter_column('mac_from', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('checkpointed', existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
        batch_op.drop_column('checkpointed')
        batch_op.drop_column('mac_from')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('mac')
