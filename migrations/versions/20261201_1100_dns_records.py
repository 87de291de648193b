"""dns records of registered domains (域名解析), effective after review

Revision ID: c3d0c0de5703
Revises: b2e0c0de5702
Create Date: 2026-12-01 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d0c0de5703'
down_revision = 'b2e0c0de5702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dns_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('domain_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=10), nullable=False),
        sa.Column('record_type', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=2000), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['domain_id'], ['domain.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('dns_record', schema=None) as batch_op:
        batch_op.create_index('ix_dns_record_domain_host_status', ['domain_id', 'host', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dns_record_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dns_record_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('dns_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dns_record_status'))
        batch_op.drop_index(batch_op.f('ix_dns_record_instance_id'))
        batch_op.drop_index('ix_dns_record_domain_host_status')
    op.drop_table('dns_record')
