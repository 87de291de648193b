"""password history (argon2 hashes of recent passwords); existing accounts' password age starts now

Every existing account gets password_changed_at = the migration time, so the maximum password age
(PASSWORD_MAX_AGE_DAYS) expires nobody at once when this rule arrives.

Revision ID: f4c0de5a0814
Revises: f3c0de5a0813
Create Date: 2026-12-03 08:14:00
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from app.models._types import UTCDateTime

revision = 'f4c0de5a0814'
down_revision = 'f3c0de5a0813'
branch_labels = None
depends_on = None

users = sa.table('user', sa.column('password_changed_at', UTCDateTime))


def upgrade():
    op.create_table(
        'password_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('password_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_history_user_id'), ['user_id'], unique=False)
    op.execute(users.update().values(password_changed_at=datetime.now(UTC)))


def downgrade():
    with op.batch_alter_table('password_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_history_user_id'))
    op.drop_table('password_history')
