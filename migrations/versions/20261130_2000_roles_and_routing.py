"""roles as data (lane names, audiences, regional or national offices); offices that had a task of an application

Revision ID: 9c41e7a2d5b6
Revises: 7b2d9c4e1f30
Create Date: 2026-11-30 20:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '9c41e7a2d5b6'
down_revision = '7b2d9c4e1f30'
branch_labels = None
depends_on = None

ROLES = [
    {"name": "单位", "audience": "unit", "scope": "regional", "description": "申报单位"},
    {"name": "编办", "audience": "reviewer", "scope": "regional", "description": "机构编制部门（同级编办）"},
    {"name": "CONAC", "audience": "reviewer", "scope": "national", "description": "政务和公益机构域名注册管理中心"},
    {"name": "电子政务中心", "audience": "reviewer", "scope": "national",
     "description": "中央编办电子政务中心（中直机关的初审和再审）"},
    {"name": "政策", "audience": "staff", "scope": "national", "description": "政策制定人员：编辑和部署流程"},
    {"name": "管理员", "audience": "staff", "scope": "national", "description": "系统管理员"},
]


def upgrade():
    role = op.create_table(
        'role',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(role, ROLES)
    op.create_table(
        'instance_office',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('office_code', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('instance_id', 'office_code'),
    )
    with op.batch_alter_table('instance_office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_office_office_code'), ['office_code'], unique=False)
    op.execute(
        "INSERT INTO instance_office (instance_id, office_code) "
        "SELECT DISTINCT instance_id, office_code FROM work_item WHERE office_code IS NOT NULL"
    )
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_kind'), ['kind'], unique=False)


def downgrade():
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_kind'))
    with op.batch_alter_table('instance_office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_office_office_code'))
    op.drop_table('instance_office')
    op.drop_table('role')
