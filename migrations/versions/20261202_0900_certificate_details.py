"""certificate details for the 标识证书 page: English domain, 机构职能/业务范围, issuing office (标识发放单位)

Revision ID: e1c0de5a0801
Revises: d4e0c0de5704
Create Date: 2026-12-02 09:00:00

Certificates issued before this revision get the 编办 office that had a task of their application as
issuing office (its current name); their English domain and functions stay empty, and the certificate
page then shows the unit's own 机构职能.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e1c0de5a0801'
down_revision = 'd4e0c0de5704'
branch_labels = None
depends_on = None

# The 编办 office of an older certificate's application (the lowest office code if ever several).
_ISSUER_CODE = (
    "SELECT MIN(office.code) FROM instance_office JOIN office ON office.code = instance_office.office_code"
    " WHERE instance_office.instance_id = certificate.instance_id AND office.kind = '编办'"
)


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('english_domain', sa.String(length=253), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('functions', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('issuer_office_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('issuer_name', sa.String(length=120), nullable=False, server_default=''))
    op.execute(f"UPDATE certificate SET issuer_office_code = ({_ISSUER_CODE}) WHERE instance_id IS NOT NULL")
    op.execute(
        "UPDATE certificate SET issuer_name = (SELECT office.name FROM office"
        " WHERE office.code = certificate.issuer_office_code) WHERE issuer_office_code IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('issuer_name')
        batch_op.drop_column('issuer_office_code')
        batch_op.drop_column('functions')
        batch_op.drop_column('english_domain')
