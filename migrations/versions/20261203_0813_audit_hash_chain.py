"""audit trail: SM3 hash chain (seq, prev_hash, row_hash), chain head, append-only triggers, app role grants

Existing rows are hashed in id order. On PostgreSQL, when DB_APP_ROLE names the application's login role
(a role other than the one running this migration, which owns the tables), that role keeps INSERT and
SELECT on audit_event only. See docs/audit.md.

The hash format and the trigger texts come from app.services.audit_chain and app.services.audit_guard on
purpose: the rows hashed here must verify with the code that verifies them.

Revision ID: f3c0de5a0813
Revises: f1c0de5a0811
Create Date: 2026-12-03 08:13:00
"""

import os

import sqlalchemy as sa
from alembic import op

from app.models._types import UTCDateTime
from app.services import audit_guard
from app.services.audit_chain import CONTENT, row_hash

revision = "f3c0de5a0813"
down_revision = "f1c0de5a0811"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
BATCH = 1000

events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer),
    sa.column("at", UTCDateTime),
    sa.column("actor", sa.String),
    sa.column("role", sa.String),
    sa.column("ip", sa.String),
    sa.column("instance_id", sa.Integer),
    sa.column("task_name", sa.String),
    sa.column("task_title", sa.String),
    sa.column("action", sa.String),
    sa.column("decision", sa.String),
    sa.column("reason", sa.Text),
    sa.column("detail", sa.JSON),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("row_hash", sa.String),
)


def upgrade():
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("start_seq", sa.Integer(), nullable=False),
        sa.Column("start_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    length, last_hash = _hash_existing_rows(op.get_bind())
    op.bulk_insert(head, [dict(id=1, length=length, last_hash=last_hash, start_seq=0, start_hash=GENESIS_HASH)])
    # NOT NULL after the backfill; the SQLite batch rebuild must come before the triggers (it would drop them).
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
    bind = op.get_bind()
    audit_guard.install(bind)
    app_role = os.environ.get("DB_APP_ROLE", "").strip()
    if bind.dialect.name == "postgresql" and app_role:
        audit_guard.restrict_app_role(bind, app_role)


def _hash_existing_rows(bind):
    """Chain the rows written before this migration, oldest id first; returns the chain's length and last hash."""
    seq, prev = 0, GENESIS_HASH
    last_id = 0
    while True:
        rows = bind.execute(sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return seq, prev
        updates = []
        for row in rows:
            seq += 1
            content = {**row._mapping, "seq": seq}
            digest = row_hash(prev, {key: content[key] for key in CONTENT})
            updates.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam("b_id"))
            .values(seq=sa.bindparam("b_seq"), prev_hash=sa.bindparam("b_prev"), row_hash=sa.bindparam("b_hash")),
            updates,
        )
        last_id = rows[-1].id


def downgrade():
    audit_guard.remove(op.get_bind())
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("audit_chain_head")
