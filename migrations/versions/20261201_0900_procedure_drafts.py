"""procedure drafts: what policy staff edit in the studio before they deploy it

Revision ID: a1d0c0de5701
Revises: 9c41e7a2d5b6
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a1d0c0de5701'
down_revision = '9c41e7a2d5b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'procedure_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=80), nullable=False),
        sa.Column('author', sa.String(length=80), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=True),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('xml', sa.Text(), nullable=False),
        sa.Column('files', sa.JSON(none_as_null=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('process_id', 'author'),
    )
    with op.batch_alter_table('procedure_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_draft_process_id'), ['process_id'], unique=False)


def downgrade():
    with op.batch_alter_table('procedure_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_draft_process_id'))
    op.drop_table('procedure_draft')
