"""a domain remembers the expiry date its last 到期提醒 was about

Revision ID: e5c0de5a0805
Revises: d4e0c0de5704
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5c0de5a0805'
down_revision = 'd4e0c0de5704'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expiry_warned_for', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_column('expiry_warned_for')
