"""SMS as the alternative second factor: a staff account's registered mobile (sealed) and its method (totp /
sms; accounts that already have a TOTP secret use "totp"); the login's SMS code as an HMAC with its sending
time and wrong tries on the session row

Revision ID: ff12a0000003
Revises: fe13a0000002
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "ff12a0000003"
down_revision = "fe13a0000002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_factor_method", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("mobile", sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE \"user\" SET second_factor_method = 'totp' WHERE totp_secret IS NOT NULL"))
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sms_code_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sms_code_attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_column("sms_code_attempts")
        batch_op.drop_column("sms_code_sent_at")
        batch_op.drop_column("sms_code_hash")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("mobile")
        batch_op.drop_column("second_factor_method")
