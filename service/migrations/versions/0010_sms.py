"""sms: sender counts of the day, seen message ids, the outbox, counts, alert subscriptions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

The SMS channel's tables (service.sms.models). None holds a phone number or a text in clear: a
sender is a pseudonym under a key destroyed each day, the outbox seals number and text together.
Its reports are rows of `report` (channel sms, data class sms_reports), counted by 0009's triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_sender',
    sa.Column('pseudonym', sa.LargeBinary(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('pseudonym', name=op.f('pk_sms_sender'))
    )
    with op.batch_alter_table('sms_sender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_sender_day'), ['day'], unique=False)

    op.create_table('sms_message',
    sa.Column('id_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_sms_message'))
    )
    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_message_day'), ['day'], unique=False)

    op.create_table('sms_outbox',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provider_ref', sa.LargeBinary(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_outbox')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_sms_outbox_provider_ref'))
    )
    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_outbox_epoch'), ['epoch'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_outbox_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_sms_outbox_due', ['next_attempt_at'], unique=False)

    op.create_table('sms_count',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_count')),
    sa.UniqueConstraint('day', 'provider', 'outcome', name=op.f('uq_sms_count_day'))
    )

    op.create_table('alert_subscription',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('medium', sa.String(length=8), nullable=False),
    sa.Column('contact', sa.LargeBinary(), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_week', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alert_subscription_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_subscription'))
    )
    with op.batch_alter_table('alert_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_subscription_epoch'), ['epoch'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_subscription_organisation_id'), ['organisation_id'], unique=False)


def downgrade() -> None:
    for table in ('alert_subscription', 'sms_count', 'sms_outbox', 'sms_message', 'sms_sender'):
        op.drop_table(table)
