"""待办 counts without row locks: the triggers append deltas, the worker folds them into inbox_count

The triggers of fa13a0000001 updated one `inbox_count` row per change, so every action on the same office,
role, stage and version waited for the previous one to commit, and two actions moving items between the
same two stages in opposite directions could deadlock (each held one counter row and waited for the
other; a completion deletes the closed item and inserts the next in one transaction, so the lock order is
the statement order). The triggers now append a row (key, ±1, or ±k for a move to another version) to
`inbox_count_delta`: an insert takes no lock another writer waits for. Readers add an office's deltas to
its `inbox_count` rows in one statement; the worker folds the deltas in every round
(app.services.inbox_counts.compact_inbox_counts). The trigger and function names stay those of fa13a0000001.

The downgrade folds the remaining deltas first, then puts the counter-row triggers back.

Revision ID: fk13a0000007
Revises: fi13a0000005
Create Date: 2026-12-04 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "fk13a0000007"
down_revision = "fi13a0000005"
branch_labels = None
depends_on = None

COLUMNS = "office_code, role, stage, definition_id, n"
KEY = "office_code, role, stage, definition_id"

# The same statements in a PL/pgSQL body and a SQLite trigger body.
_ADD = f"""
    INSERT INTO inbox_count_delta ({COLUMNS})
    SELECT NEW.office_code, NEW.role, NEW.stage, definition_id, 1 FROM process_instance
    WHERE id = NEW.instance_id AND NEW.office_code IS NOT NULL;
"""
_REMOVE = f"""
    INSERT INTO inbox_count_delta ({COLUMNS})
    SELECT OLD.office_code, OLD.role, OLD.stage, definition_id, -1 FROM process_instance
    WHERE id = OLD.instance_id AND OLD.office_code IS NOT NULL;
"""
# A move to another version: the instance's open items leave the old version's counts for the new one's.
_MOVE = "".join(
    f"""
    INSERT INTO inbox_count_delta ({COLUMNS})
    SELECT office_code, role, stage, {side}.definition_id, {sign}count(*) FROM work_item
    WHERE instance_id = NEW.id AND office_code IS NOT NULL GROUP BY office_code, role, stage;
"""
    for side, sign in (("OLD", "-"), ("NEW", ""))
)

POSTGRESQL_FUNCTIONS = (
    f"""
    CREATE OR REPLACE FUNCTION inbox_count_on_work_item() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND (OLD.office_code, OLD.role, OLD.stage, OLD.instance_id)
          IS NOT DISTINCT FROM (NEW.office_code, NEW.role, NEW.stage, NEW.instance_id) THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('DELETE', 'UPDATE') THEN {_REMOVE} END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN {_ADD} END IF;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION inbox_count_on_definition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN {_MOVE}
      RETURN NULL;
    END $$
    """,
)

SQLITE_TRIGGERS = (
    f"CREATE TRIGGER work_item_inbox_count_insert AFTER INSERT ON work_item BEGIN {_ADD} END",
    f"CREATE TRIGGER work_item_inbox_count_delete AFTER DELETE ON work_item BEGIN {_REMOVE} END",
    f"""
    CREATE TRIGGER work_item_inbox_count_update AFTER UPDATE OF office_code, role, stage, instance_id ON work_item
    WHEN OLD.office_code IS NOT NEW.office_code OR OLD.role IS NOT NEW.role OR OLD.stage IS NOT NEW.stage
      OR OLD.instance_id IS NOT NEW.instance_id
    BEGIN {_REMOVE} {_ADD} END
    """,
    f"""
    CREATE TRIGGER process_instance_inbox_count AFTER UPDATE OF definition_id ON process_instance
    WHEN OLD.definition_id IS NOT NEW.definition_id BEGIN {_MOVE} END
    """,
)
SQLITE_DROPS = tuple(
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "process_instance_inbox_count",
        "work_item_inbox_count_update",
        "work_item_inbox_count_delete",
        "work_item_inbox_count_insert",
    )
)

# ---- fa13a0000001's triggers, put back by the downgrade ----------------------------------------

OLD_POSTGRESQL_FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION inbox_count_on_work_item() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.office_code IS NOT NULL THEN
        UPDATE inbox_count SET n = n - 1
        WHERE office_code = OLD.office_code AND role = OLD.role AND stage = OLD.stage
          AND definition_id = (SELECT definition_id FROM process_instance WHERE id = OLD.instance_id);
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.office_code IS NOT NULL THEN
        INSERT INTO inbox_count (office_code, role, stage, definition_id, n)
        SELECT NEW.office_code, NEW.role, NEW.stage, definition_id, 1 FROM process_instance WHERE id = NEW.instance_id
        ON CONFLICT (office_code, role, stage, definition_id) DO UPDATE SET n = inbox_count.n + 1;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION inbox_count_on_definition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE inbox_count c SET n = c.n - w.k
      FROM (SELECT office_code, role, stage, count(*) AS k FROM work_item
            WHERE instance_id = NEW.id AND office_code IS NOT NULL GROUP BY office_code, role, stage) w
      WHERE c.office_code = w.office_code AND c.role = w.role AND c.stage = w.stage
        AND c.definition_id = OLD.definition_id;
      INSERT INTO inbox_count (office_code, role, stage, definition_id, n)
      SELECT office_code, role, stage, NEW.definition_id, count(*) FROM work_item
      WHERE instance_id = NEW.id AND office_code IS NOT NULL GROUP BY office_code, role, stage
      ON CONFLICT (office_code, role, stage, definition_id) DO UPDATE SET n = inbox_count.n + EXCLUDED.n;
      RETURN NULL;
    END $$
    """,
)

_OLD_SQLITE_ADD = """
    INSERT INTO inbox_count (office_code, role, stage, definition_id, n)
    SELECT NEW.office_code, NEW.role, NEW.stage, definition_id, 1 FROM process_instance
    WHERE id = NEW.instance_id AND NEW.office_code IS NOT NULL
    ON CONFLICT (office_code, role, stage, definition_id) DO UPDATE SET n = n + 1;
"""
_OLD_SQLITE_REMOVE = """
    UPDATE inbox_count SET n = n - 1
    WHERE OLD.office_code IS NOT NULL AND office_code = OLD.office_code AND role = OLD.role AND stage = OLD.stage
      AND definition_id = (SELECT definition_id FROM process_instance WHERE id = OLD.instance_id);
"""
OLD_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER work_item_inbox_count_insert AFTER INSERT ON work_item BEGIN {_OLD_SQLITE_ADD} END",
    f"CREATE TRIGGER work_item_inbox_count_delete AFTER DELETE ON work_item BEGIN {_OLD_SQLITE_REMOVE} END",
    "CREATE TRIGGER work_item_inbox_count_update AFTER UPDATE OF office_code, role, stage, instance_id"
    f" ON work_item BEGIN {_OLD_SQLITE_REMOVE} {_OLD_SQLITE_ADD} END",
    """
    CREATE TRIGGER process_instance_inbox_count AFTER UPDATE OF definition_id ON process_instance
    WHEN OLD.definition_id IS NOT NEW.definition_id BEGIN
      UPDATE inbox_count SET n = n - (
        SELECT count(*) FROM work_item w WHERE w.instance_id = NEW.id AND w.office_code = inbox_count.office_code
          AND w.role = inbox_count.role AND w.stage = inbox_count.stage)
      WHERE definition_id = OLD.definition_id;
      INSERT INTO inbox_count (office_code, role, stage, definition_id, n)
      SELECT office_code, role, stage, NEW.definition_id, count(*) FROM work_item
      WHERE instance_id = NEW.id AND office_code IS NOT NULL GROUP BY office_code, role, stage
      ON CONFLICT (office_code, role, stage, definition_id) DO UPDATE SET n = n + excluded.n;
    END
    """,
)


def upgrade():
    op.create_table(
        "inbox_count_delta",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("office_code", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_count_delta_inbox", "inbox_count_delta", ["office_code", "role"])
    # No table is batch-altered (SQLite would drop its other triggers). The PostgreSQL triggers call the
    # functions by name and stay; SQLite's plain triggers are dropped and created again.
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_FUNCTIONS if postgresql else SQLITE_DROPS + SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # writers wait for the commit: none appends a delta after the fold below
        op.execute("LOCK TABLE inbox_count_delta IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"INSERT INTO inbox_count ({COLUMNS}) SELECT {KEY}, sum(n) FROM inbox_count_delta WHERE true"
        f" GROUP BY {KEY} ON CONFLICT ({KEY}) DO UPDATE SET n = inbox_count.n + excluded.n"
    )
    for statement in OLD_POSTGRESQL_FUNCTIONS if postgresql else SQLITE_DROPS + OLD_SQLITE_TRIGGERS:
        op.execute(statement)
    op.drop_index("ix_inbox_count_delta_inbox", table_name="inbox_count_delta")
    op.drop_table("inbox_count_delta")
