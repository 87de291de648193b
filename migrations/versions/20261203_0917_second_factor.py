"""second factor for staff: TOTP secret, last used step and recovery-code hashes on the user; the
session row records when its login passed the second factor and the secret offered at enrolment

Revision ID: f7c0de5a0817
Revises: f6c0de5a0816
Create Date: 2026-12-03 09:17:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f7c0de5a0817"
down_revision = "f6c0de5a0816"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("totp_recovery_hashes", sa.Text(), nullable=True))
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("pending_totp_secret", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_column("pending_totp_secret")
        batch_op.drop_column("second_factor_at")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("totp_recovery_hashes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
