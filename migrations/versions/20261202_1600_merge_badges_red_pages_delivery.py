"""Join the five schema branches written side by side: certificates, placement checks, red pages,
notification delivery and expiry warnings. No schema change of its own.

Revision ID: f0c0de5a0810
Revises: e2c0de5a0802, e3c0de5a0803, e1c0de5a0801, e4c0de5a0804, e5c0de5a0805
Create Date: 2026-11-30 18:49:03.392864

"""
# revision identifiers, used by Alembic.
revision = 'f0c0de5a0810'
down_revision = ('e2c0de5a0802', 'e3c0de5a0803', 'e1c0de5a0801', 'e4c0de5a0804', 'e5c0de5a0805')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
