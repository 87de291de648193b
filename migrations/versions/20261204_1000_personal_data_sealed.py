"""personal data sealed at rest: mobiles, second-factor secrets, notification recipients, the workflow state,
drafts and step log become SM4-GCM/AES-GCM ciphertexts (app/field_encryption.py); the 经办人身份证复印件 table

Revision ID: fd12a0000001
Revises: f7c0de5a0817
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from app import field_encryption

revision = "fd12a0000001"
down_revision = "f7c0de5a0817"
branch_labels = None
depends_on = None

# table, column, type before: each value is sealed with the column's name ("table.column") as associated data.
SEALED_COLUMNS = [
    ("process_instance", "state", sa.JSON()),
    ("process_instance", "failed_action", sa.JSON()),
    ("draft", "data", sa.JSON()),
    ("step_record", "data", sa.JSON()),
    ("step_record", "results", sa.JSON()),
    ("instance_migration", "old_state", sa.JSON()),
    ("contact", "mobile", sa.String(11)),
    ("domain", "contact_mobile", sa.String(11)),
    ("user", "totp_secret", sa.String(64)),
    ("user_session", "pending_totp_secret", sa.String(64)),
    ("outbox_message", "recipient", sa.String(120)),
    ("sms_record", "mobile", sa.String(20)),
]
BATCH = 1000


def upgrade():
    keyring = field_encryption.active_keyring()
    for table, column, _before in SEALED_COLUMNS:
        _retype(table, column, sa.Text(), f"{column}::text")
        _rewrite(table, column, lambda value, context: keyring.seal(value.encode(), context))
    op.create_table(
        "id_card_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_notice", sa.String(length=20), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
    )
    op.create_index("ix_id_card_copy_deleted_at", "id_card_copy", ["deleted_at"])


def downgrade():
    keyring = field_encryption.active_keyring()
    op.drop_index("ix_id_card_copy_deleted_at", table_name="id_card_copy")
    op.drop_table("id_card_copy")
    for table, column, before in SEALED_COLUMNS:
        _rewrite(table, column, lambda value, context: keyring.unseal(value, context).decode())
        cast = "json" if isinstance(before, sa.JSON) else f"varchar({before.length})"
        _retype(table, column, before, f"{column}::{cast}")


def _retype(table, column, new_type, using):
    """PostgreSQL changes the column's type; SQLite keeps any text in any column, so its schema stays."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(table, column, type_=new_type, postgresql_using=using)


def _rewrite(table, column, convert):
    """Every non-null value through `convert`, in batches, keyed by the row's id."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column("id", sa.Integer()), sa.column(column, sa.Text()))
    context = f"{table}.{column}"
    update = sa.update(rows).where(rows.c.id == sa.bindparam("row_id")).values({column: sa.bindparam("value")})
    last_id = 0
    while True:
        query = sa.select(rows.c.id, rows.c[column]).where(rows.c[column].isnot(None), rows.c.id > last_id)
        batch = bind.execute(query.order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return
        bind.execute(update, [{"row_id": row_id, "value": convert(value, context)} for row_id, value in batch])
        last_id = batch[-1][0]
