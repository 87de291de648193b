"""the step log of every application (replayed to preview an edited procedure) and version migrations of running applications

Revision ID: b2e0c0de5702
Revises: a1d0c0de5701
Create Date: 2026-12-01 10:00:00

Applications started before this have no step log: a preview leaves them out.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b2e0c0de5702'
down_revision = 'a1d0c0de5701'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'step_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('element', sa.String(length=80), nullable=True),
        sa.Column('message', sa.String(length=80), nullable=True),
        sa.Column('data', sa.JSON(none_as_null=True), nullable=False),
        sa.Column('results', sa.JSON(none_as_null=True), nullable=False),
        sa.Column('path', sa.JSON(none_as_null=True), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id', 'seq'),
    )
    op.create_table(
        'instance_migration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('from_definition_id', sa.Integer(), nullable=False),
        sa.Column('to_definition_id', sa.Integer(), nullable=False),
        sa.Column('old_state', sa.JSON(none_as_null=True), nullable=False),
        sa.Column('old_stage', sa.String(length=40), nullable=False),
        sa.Column('version_before', sa.Integer(), nullable=False),
        sa.Column('version_after', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by', sa.String(length=80), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['from_definition_id'], ['workflow_definition.id']),
        sa.ForeignKeyConstraint(['to_definition_id'], ['workflow_definition.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('instance_migration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_migration_instance_id'), ['instance_id'], unique=False)


def downgrade():
    with op.batch_alter_table('instance_migration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_migration_instance_id'))
    op.drop_table('instance_migration')
    op.drop_table('step_record')
