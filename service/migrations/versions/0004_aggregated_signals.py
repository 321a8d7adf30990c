"""aggregated signals: exact tallies at intake, stored releases, the budget ledger, territories

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signal_release',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('municipality', sa.String(length=64), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('epsilon', sa.Float(), nullable=False),
    sa.Column('params', sa.LargeBinary(), nullable=False),
    sa.Column('cells', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_release')),
    sa.UniqueConstraint('municipality', 'week', name=op.f('uq_signal_release_municipality'))
    )
    with op.batch_alter_table('signal_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_release_week'), ['week'], unique=False)

    op.create_table('signal_tally',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('reporter', sa.LargeBinary(length=16), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_tally')),
    sa.UniqueConstraint('week', 'area', 'category', 'reporter', name=op.f('uq_signal_tally_week')),
    )
    op.create_table('organisation_territory',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('municipality', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_territory_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'municipality', name=op.f('pk_organisation_territory'))
    )
    op.create_table('privacy_budget_spend',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('epsilon', sa.Float(), nullable=False),
    sa.Column('municipalities', sa.String(length=1000), nullable=False),
    sa.Column('spent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_privacy_budget_spend_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_budget_spend')),
    sa.UniqueConstraint('organisation_id', 'week', name=op.f('uq_privacy_budget_spend_organisation_id'))
    )


def downgrade() -> None:
    op.drop_table('privacy_budget_spend')
    op.drop_table('organisation_territory')
    op.drop_table('signal_tally')
    with op.batch_alter_table('signal_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_release_week'))

    op.drop_table('signal_release')
