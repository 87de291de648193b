"""Search at national scale: a 编办's region newest first, and application numbers by their start

- `ix_process_instance_region` holds (region_code, id) instead of (region_code) INCLUDE (id). A 编办 sees the
  applications of its region and those it has had a task of; a search for a name many units hold reads the
  newest applications until enough match. It read them across the whole country and tested each for the
  office; it now reads the region's newest first off this index (and the office's off instance_office's
  primary key). The 统计 lookups the index served read the same pairs.
- `ix_process_instance_business_key_prefix` (PostgreSQL, text_pattern_ops): an application number is two
  letters and digits, so a whole number (or its start) is contained only in the numbers starting with it.
  pg_trgm served that search through the trigrams every number shares (202, 000, …), reading long lists.

Revision ID: fn13a0000010
Revises: fm13a0000009
Create Date: 2026-12-04 18:00:00
"""

from alembic import op

revision = "fn13a0000010"
down_revision = "fm13a0000009"
branch_labels = None
depends_on = None

PREFIX_INDEX = "ix_process_instance_business_key_prefix"


def upgrade():
    with op.batch_alter_table("process_instance") as batch_op:
        batch_op.drop_index("ix_process_instance_region")
        batch_op.create_index("ix_process_instance_region", ["region_code", "id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {PREFIX_INDEX} ON process_instance (business_key text_pattern_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PREFIX_INDEX}")
    with op.batch_alter_table("process_instance") as batch_op:
        batch_op.drop_index("ix_process_instance_region")
        batch_op.create_index("ix_process_instance_region", ["region_code"], postgresql_include=["id"])
