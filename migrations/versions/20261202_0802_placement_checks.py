"""placement checks of website badges with their evidence, and each certificate's placement status

Revision ID: e2c0de5a0802
Revises: d4e0c0de5704
Create Date: 2026-12-02 08:02:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e2c0de5a0802'
down_revision = 'd4e0c0de5704'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'placement_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('requested_by', sa.String(length=80), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('final_url', sa.String(length=500), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('marker', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('excerpt', sa.Text(), nullable=False),
        sa.Column('attempts', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('placement_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_check_certificate_id'), ['certificate_id'], unique=False)
    op.create_table(
        'placement_status',
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('location', sa.String(length=20), nullable=False),
        sa.Column('english_domain', sa.String(length=253), nullable=False),
        sa.Column('server_ip', sa.String(length=45), nullable=False),
        sa.Column('latest_check_id', sa.Integer(), nullable=True),
        sa.Column('found', sa.Boolean(), nullable=False),
        sa.Column('deadline_result', sa.String(length=20), nullable=False),
        sa.Column('deadline_recorded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id']),
        sa.ForeignKeyConstraint(['latest_check_id'], ['placement_check.id']),
        sa.PrimaryKeyConstraint('certificate_id'),
    )
    with op.batch_alter_table('placement_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_status_next_check_at'), ['next_check_at'], unique=False)


def downgrade():
    with op.batch_alter_table('placement_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_status_next_check_at'))
    op.drop_table('placement_status')
    with op.batch_alter_table('placement_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_check_certificate_id'))
    op.drop_table('placement_check')
