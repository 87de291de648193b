"""a certificate remembers its 注销: when, by whom, why

Revision ID: f1c0de5a0811
Revises: f0c0de5a0810
Create Date: 2026-12-02 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1c0de5a0811'
down_revision = 'f0c0de5a0810'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=80), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('revoke_reason', sa.String(length=200), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('revoke_reason')
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
