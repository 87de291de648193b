"""Join the three schema branches written side by side: the inbox at scale, API tokens and personal data
sealed at rest. No schema change of its own.

Revision ID: fe13a0000002
Revises: fa13a0000001, fc13a0000001, fd12a0000001
Create Date: 2026-12-04 11:00:00
"""

revision = "fe13a0000002"
down_revision = ("fa13a0000001", "fc13a0000001", "fd12a0000001")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
