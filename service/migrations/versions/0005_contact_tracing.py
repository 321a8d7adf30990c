"""contact tracing: verification codes and quotas, failed redemptions, used token ids, key uploads, export files

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_file',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_num', sa.SmallInteger(), nullable=False),
    sa.Column('batch_size', sa.SmallInteger(), nullable=False),
    sa.Column('keys', sa.Integer(), nullable=False),
    sa.Column('etag', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_file')),
    sa.UniqueConstraint('name', name=op.f('uq_export_file_name')),
    sa.UniqueConstraint('window_start', 'batch_num', name=op.f('uq_export_file_window_start'))
    )
    with op.batch_alter_table('export_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_file_window_end'), ['window_end'], unique=False)

    op.create_table('key_upload',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('epoch', sa.Date(), nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keys', sa.SmallInteger(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_upload'))
    )
    with op.batch_alter_table('key_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_upload_epoch'), ['epoch'], unique=False)
        batch_op.create_index('ix_key_upload_publish_at', ['publish_at'], unique=False)

    op.create_table('redeem_failures',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hour', name=op.f('pk_redeem_failures'))
    )
    op.create_table('used_upload_token',
    sa.Column('jti_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti_hash', name=op.f('pk_used_upload_token'))
    )
    with op.batch_alter_table('used_upload_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_upload_token_expires_at'), ['expires_at'], unique=False)

    op.create_table('code_quota',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_code_quota_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_quota')),
    sa.UniqueConstraint('organisation_id', 'day', name=op.f('uq_code_quota_organisation_id'))
    )
    op.create_table('verification_code',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('onset_kind', sa.String(length=8), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_verification_code_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_verification_code_code_hash'))
    )
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_code_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_code_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracing_granted_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('tracing_granted_at')

    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_code_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_verification_code_expires_at'))

    op.drop_table('verification_code')
    op.drop_table('code_quota')
    with op.batch_alter_table('used_upload_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_upload_token_expires_at'))

    op.drop_table('used_upload_token')
    op.drop_table('redeem_failures')
    with op.batch_alter_table('key_upload', schema=None) as batch_op:
        batch_op.drop_index('ix_key_upload_publish_at')
        batch_op.drop_index(batch_op.f('ix_key_upload_epoch'))

    op.drop_table('key_upload')
    with op.batch_alter_table('export_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_file_window_end'))

    op.drop_table('export_file')
