"""a domain's frozen/deleted reason; each charge names the application that charges it (renewals of several domains)

Revision ID: d4e0c0de5704
Revises: c3d0c0de5703
Create Date: 2026-12-01 12:00:00

Registration charges get their application from the domain they register; renewal charges made before
this revision keep none (each one was then an application of its own).
"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e0c0de5704'
down_revision = 'c3d0c0de5703'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.String(length=200), nullable=False, server_default=''))
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_charge_instance_id'), ['instance_id'], unique=False)
        batch_op.create_foreign_key('fk_charge_instance_id', 'process_instance', ['instance_id'], ['id'])
    op.execute(
        "UPDATE charge SET instance_id = (SELECT domain.instance_id FROM domain WHERE domain.id = charge.domain_id)"
        " WHERE purpose = 'register'"
    )


def downgrade():
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_constraint('fk_charge_instance_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_charge_instance_id'))
        batch_op.drop_column('instance_id')
    with op.batch_alter_table('domain', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
