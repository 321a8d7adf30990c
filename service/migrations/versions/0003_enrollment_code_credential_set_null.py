"""enrollment codes: a deleted credential sets the code's credential_id to NULL

Retention deletes revoked credentials on their own period; a used enrollment code that still
points at one must not stop that (nor keep the credential alive).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NAME = 'fk_enrollment_code_credential_id_credential'


def upgrade() -> None:
    with op.batch_alter_table('enrollment_code', schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_='foreignkey')
        batch_op.create_foreign_key(NAME, 'credential', ['credential_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('enrollment_code', schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_='foreignkey')
        batch_op.create_foreign_key(NAME, 'credential', ['credential_id'], ['id'])
