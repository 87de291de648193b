"""三员: the one 管理员 role becomes 系统管理员, 安全管理员 and 审计管理员 (DOMAIN.md §7.2)

Existing 管理员 accounts become 系统管理员: they kept accounts, offices and retries running, which is the
system admin's work; a security and an audit admin are new accounts created afterwards.

Revision ID: f5c0de5a0815
Revises: f3c0de5a0813
Create Date: 2026-12-03 08:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f5c0de5a0815'
down_revision = 'f3c0de5a0813'
branch_labels = None
depends_on = None

ROLE = sa.table(
    'role',
    sa.column('name', sa.String),
    sa.column('audience', sa.String),
    sa.column('scope', sa.String),
    sa.column('description', sa.String),
)
USER = sa.table('user', sa.column('role', sa.String))
ADMIN_ROLES = [
    {"name": "系统管理员", "audience": "staff", "scope": "national",
     "description": "系统管理员：账号、机构、角色、出错申请重试、消息发送"},
    {"name": "安全管理员", "audience": "staff", "scope": "national",
     "description": "安全管理员：解锁、重置密码、结束会话"},
    {"name": "审计管理员", "audience": "staff", "scope": "national",
     "description": "审计管理员：查阅审计日志、验证审计链"},
]
OLD_ADMIN = {"name": "管理员", "audience": "staff", "scope": "national", "description": "系统管理员"}


def upgrade():
    op.bulk_insert(ROLE, ADMIN_ROLES)
    op.execute(USER.update().where(USER.c.role == '管理员').values(role='系统管理员'))
    op.execute(ROLE.delete().where(ROLE.c.name == '管理员'))


def downgrade():
    # All three become the one 管理员 again: the separation cannot be expressed without the three roles.
    op.bulk_insert(ROLE, [OLD_ADMIN])
    op.execute(USER.update().where(USER.c.role.in_(['系统管理员', '安全管理员', '审计管理员'])).values(role='管理员'))
    op.execute(ROLE.delete().where(ROLE.c.name.in_(['系统管理员', '安全管理员', '审计管理员'])))
