"""initial schema: partners, devices, data keys, reports

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
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
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_data_key')),
    sa.UniqueConstraint('data_class', 'epoch', name=op.f('uq_data_key_data_class'))
    )
    op.create_table('organisation',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation'))
    )
    op.create_table('report',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('data_class', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('observed_hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('reporter', sa.LargeBinary(length=16), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report'))
    )
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.create_index('ix_report_data_class_epoch', ['data_class', 'epoch'], unique=False)

    op.create_table('submission',
    sa.Column('key_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('content_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('redactions', sa.SmallInteger(), nullable=False),
    sa.Column('received_hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_submission'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_epoch'), ['epoch'], unique=False)

    op.create_table('credential',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_credential_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential'))
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('enrollment_code',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credential_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credential.id'], name=op.f('fk_enrollment_code_credential_id_credential')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_enrollment_code_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_enrollment_code_code_hash'))
    )
    with op.batch_alter_table('enrollment_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_code_organisation_id'), ['organisation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('enrollment_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_code_organisation_id'))

    op.drop_table('enrollment_code')
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_organisation_id'))

    op.drop_table('credential')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_epoch'))

    op.drop_table('submission')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index('ix_report_data_class_epoch')

    op.drop_table('report')
    op.drop_table('organisation')
    op.drop_table('data_key')
