"""网络红页: a unit's red page (draft and published content) and its uploaded images

Revision ID: e3c0de5a0803
Revises: d4e0c0de5704
Create Date: 2026-12-02 08:03:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e3c0de5a0803'
down_revision = 'd4e0c0de5704'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'red_page',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('draft', sa.JSON(), nullable=False),
        sa.Column('published', sa.JSON(), nullable=True),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('unit_id'),
    )
    op.create_table(
        'red_page_image',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('red_page_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['red_page_id'], ['red_page.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('red_page_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_red_page_image_red_page_id'), ['red_page_id'], unique=False)


def downgrade():
    with op.batch_alter_table('red_page_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_red_page_image_red_page_id'))
    op.drop_table('red_page_image')
    op.drop_table('red_page')
