"""signal releases: each part again column by column, for alerts

Releases stored before this revision keep NULL there and are read from their cells document, as
before (service.signals.parts); nothing is rewritten.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PARTS = ('area_category', 'area_phenomenon', 'district_category', 'district_phenomenon',
         'municipality_category', 'municipality_phenomenon')


def upgrade() -> None:
    with op.batch_alter_table('signal_release', schema=None) as batch_op:
        for part in PARTS:
            batch_op.add_column(sa.Column(f'part_{part}', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('signal_release', schema=None) as batch_op:
        for part in reversed(PARTS):
            batch_op.drop_column(f'part_{part}')
