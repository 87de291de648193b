"""Join the two schema branches written side by side: the 统计 indexes and task waits, and the 待办 count
deltas. No schema change of its own.

Revision ID: fl13a0000008
Revises: fj13a0000006, fk13a0000007
Create Date: 2026-12-04 16:00:00
"""

revision = "fl13a0000008"
down_revision = ("fj13a0000006", "fk13a0000007")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
