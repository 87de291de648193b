"""Join the two schema branches written side by side: password history and the separated admin roles.
No schema change of its own.

Revision ID: f6c0de5a0816
Revises: f4c0de5a0814, f5c0de5a0815
Create Date: 2026-12-03 09:00:00
"""

revision = 'f6c0de5a0816'
down_revision = ('f4c0de5a0814', 'f5c0de5a0815')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
