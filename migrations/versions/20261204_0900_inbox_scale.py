"""inbox at scale: counts kept as work items come and go, keyset indexes, trigram search (PostgreSQL)

`inbox_count` holds the open reviewer work items per (office, role, stage, diagram version). Triggers
keep it in the transaction that inserts, deletes or moves a work item, whatever code does it (the
Projector, a version migration, a repair), so the 待办 counts never group the whole inbox.
The inbox, 已办 and 到期域名 indexes end in the tie-breaking id, so a page is one index range and the
next page starts where the last one ended (keyset). `domain.region_code` and `work_item.region_code` copy
their unit's region (triggers again), so the 到期域名 counts of a jurisdiction and the 待办 region filter
read one index. On PostgreSQL, pg_trgm GIN indexes serve the
search by part of an application number, unit name or domain; SQLite keeps scanning with LIKE.

Revision ID: fa13a0000001
Revises: f7c0de5a0817
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "fa13a0000001"
down_revision = "f7c0de5a0817"
branch_labels = None
depends_on = None

# (index, table, column) searched with LIKE '%…%'
TRIGRAM_INDEXES = (
    ("ix_unit_name_trgm", "unit", "name"),
    ("ix_domain_name_trgm", "domain", "name"),
    ("ix_process_instance_business_key_trgm", "process_instance", "business_key"),
)

POSTGRESQL_ONLY = (
    # "-due" sorts deadlines descending with the undated last: a backward scan of the ascending index would
    # put them first, so this order has its own index (SQLite's NULLs-first default needs no such thing).
    "CREATE INDEX ix_work_item_inbox_due_desc ON work_item (office_code, role, due_at DESC NULLS LAST, id DESC)",
    # An office code names one role's office: without this the planner multiplies the two selectivities
    # and, for the national CONAC inbox, expects a quarter of its rows and picks the wrong index.
    "CREATE STATISTICS work_item_office_role (dependencies) ON office_code, role FROM work_item",
)

# One statement per entry: psycopg and sqlite3 both run them through op.execute.
POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION inbox_count_on_work_item() RETURNS trigger LANGUAGE plpgsql AS $$
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
    CREATE TRIGGER work_item_inbox_count AFTER INSERT OR DELETE OR UPDATE OF office_code, role, stage, instance_id
    ON work_item FOR EACH ROW EXECUTE FUNCTION inbox_count_on_work_item()
    """,
    """
    CREATE FUNCTION inbox_count_on_definition() RETURNS trigger LANGUAGE plpgsql AS $$
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
    """
    CREATE TRIGGER process_instance_inbox_count AFTER UPDATE OF definition_id ON process_instance
    FOR EACH ROW WHEN (OLD.definition_id IS DISTINCT FROM NEW.definition_id)
    EXECUTE FUNCTION inbox_count_on_definition()
    """,
    """
    CREATE FUNCTION domain_region_from_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.region_code := (SELECT region_code FROM unit WHERE id = NEW.unit_id);
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER domain_region BEFORE INSERT OR UPDATE OF unit_id, region_code ON domain
    FOR EACH ROW EXECUTE FUNCTION domain_region_from_unit()
    """,
    """
    CREATE TRIGGER work_item_region BEFORE INSERT OR UPDATE OF unit_id, region_code ON work_item
    FOR EACH ROW EXECUTE FUNCTION domain_region_from_unit()
    """,
    """
    CREATE FUNCTION domain_region_follows_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE domain SET region_code = NEW.region_code WHERE unit_id = NEW.id;
      UPDATE work_item SET region_code = NEW.region_code WHERE unit_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER unit_domain_region AFTER UPDATE OF region_code ON unit
    FOR EACH ROW WHEN (OLD.region_code IS DISTINCT FROM NEW.region_code)
    EXECUTE FUNCTION domain_region_follows_unit()
    """,
)

_SQLITE_ADD = """
    INSERT INTO inbox_count (office_code, role, stage, definition_id, n)
    SELECT NEW.office_code, NEW.role, NEW.stage, definition_id, 1 FROM process_instance
    WHERE id = NEW.instance_id AND NEW.office_code IS NOT NULL
    ON CONFLICT (office_code, role, stage, definition_id) DO UPDATE SET n = n + 1;
"""
_SQLITE_REMOVE = """
    UPDATE inbox_count SET n = n - 1
    WHERE OLD.office_code IS NOT NULL AND office_code = OLD.office_code AND role = OLD.role AND stage = OLD.stage
      AND definition_id = (SELECT definition_id FROM process_instance WHERE id = OLD.instance_id);
"""
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER work_item_inbox_count_insert AFTER INSERT ON work_item BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER work_item_inbox_count_delete AFTER DELETE ON work_item BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER work_item_inbox_count_update AFTER UPDATE OF office_code, role, stage, instance_id"
    f" ON work_item BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
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
    # SQLite triggers cannot change NEW: the copy is written right after the row.
    """
    CREATE TRIGGER domain_region_insert AFTER INSERT ON domain BEGIN
      UPDATE domain SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER domain_region_update AFTER UPDATE OF unit_id, region_code ON domain
    WHEN NEW.region_code IS NOT (SELECT region_code FROM unit WHERE id = NEW.unit_id) BEGIN
      UPDATE domain SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER work_item_region_insert AFTER INSERT ON work_item BEGIN
      UPDATE work_item SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER work_item_region_update AFTER UPDATE OF unit_id, region_code ON work_item
    WHEN NEW.region_code IS NOT (SELECT region_code FROM unit WHERE id = NEW.unit_id) BEGIN
      UPDATE work_item SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER unit_domain_region AFTER UPDATE OF region_code ON unit
    WHEN OLD.region_code IS NOT NEW.region_code BEGIN
      UPDATE domain SET region_code = NEW.region_code WHERE unit_id = NEW.id;
      UPDATE work_item SET region_code = NEW.region_code WHERE unit_id = NEW.id;
    END
    """,
)
DROPS = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS unit_domain_region ON unit",
        "DROP TRIGGER IF EXISTS work_item_region ON work_item",
        "DROP TRIGGER IF EXISTS domain_region ON domain",
        "DROP FUNCTION IF EXISTS domain_region_follows_unit()",
        "DROP FUNCTION IF EXISTS domain_region_from_unit()",
        "DROP TRIGGER IF EXISTS process_instance_inbox_count ON process_instance",
        "DROP TRIGGER IF EXISTS work_item_inbox_count ON work_item",
        "DROP FUNCTION IF EXISTS inbox_count_on_definition()",
        "DROP FUNCTION IF EXISTS inbox_count_on_work_item()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS unit_domain_region",
        "DROP TRIGGER IF EXISTS work_item_region_update",
        "DROP TRIGGER IF EXISTS work_item_region_insert",
        "DROP TRIGGER IF EXISTS domain_region_update",
        "DROP TRIGGER IF EXISTS domain_region_insert",
        "DROP TRIGGER IF EXISTS process_instance_inbox_count",
        "DROP TRIGGER IF EXISTS work_item_inbox_count_update",
        "DROP TRIGGER IF EXISTS work_item_inbox_count_delete",
        "DROP TRIGGER IF EXISTS work_item_inbox_count_insert",
    ),
}


def upgrade():
    op.create_table(
        "inbox_count",
        sa.Column("office_code", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_code", "role", "stage", "definition_id"),
    )
    op.execute(
        "INSERT INTO inbox_count (office_code, role, stage, definition_id, n)"
        " SELECT w.office_code, w.role, w.stage, p.definition_id, count(*) FROM work_item w"
        " JOIN process_instance p ON p.id = w.instance_id WHERE w.office_code IS NOT NULL"
        " GROUP BY w.office_code, w.role, w.stage, p.definition_id"
    )
    _replace_indexes()
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)
    if dialect == "postgresql":
        for statement in POSTGRESQL_ONLY:
            op.execute(statement)
    if dialect == "postgresql" and _trigram_available():
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def _replace_indexes():
    """Plain CREATE/DROP INDEX, not batch mode: recreating a table on SQLite would drop its triggers."""
    op.drop_index("ix_work_item_inbox_created", table_name="work_item")
    op.drop_index("ix_work_item_inbox_stage", table_name="work_item")
    op.create_index("ix_work_item_inbox_created", "work_item", ["office_code", "role", "created_at", "id"])
    op.create_index("ix_work_item_inbox_due", "work_item", ["office_code", "role", "due_at", "id"])
    op.create_index("ix_work_item_inbox_stage", "work_item", ["office_code", "role", "stage", "created_at", "id"])
    op.create_index("ix_work_item_inbox_assignee", "work_item", ["office_code", "role", "assignee", "created_at", "id"])
    op.drop_index("ix_audit_event_actor_action", table_name="audit_event")
    op.create_index("ix_audit_event_actor_action", "audit_event", ["actor", "action", "id"])
    for table in ("domain", "work_item"):
        op.add_column(table, sa.Column("region_code", sa.String(length=6), nullable=True))
        op.execute(f"UPDATE {table} SET region_code = (SELECT region_code FROM unit WHERE unit.id = {table}.unit_id)")
    op.create_index(
        "ix_work_item_inbox_region", "work_item", ["office_code", "role", "region_code", "created_at", "id"]
    )
    op.create_index("ix_domain_status_region_expiry", "domain", ["status", "region_code", "expires_on", "id"])


def _trigram_available():
    """pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. Where it is not
    installed on the server, search keeps working unindexed rather than failing the upgrade."""
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").scalar() is None:
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:  # not allowed to: an administrator may create it and rerun the indexes
        return False
    return True


def downgrade():
    bind = op.get_bind()
    for statement in DROPS.get(bind.dialect.name, ()):
        op.execute(statement)
    if bind.dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("DROP STATISTICS IF EXISTS work_item_office_role")
        op.execute("DROP INDEX IF EXISTS ix_work_item_inbox_due_desc")
    op.drop_index("ix_domain_status_region_expiry", table_name="domain")
    op.drop_index("ix_work_item_inbox_region", table_name="work_item")
    for table in ("work_item", "domain"):
        with op.batch_alter_table(table, schema=None) as batch_op:  # their triggers are dropped first
            batch_op.drop_column("region_code")
    op.drop_index("ix_audit_event_actor_action", table_name="audit_event")
    op.create_index("ix_audit_event_actor_action", "audit_event", ["actor", "action"])
    op.drop_index("ix_work_item_inbox_assignee", table_name="work_item")
    op.drop_index("ix_work_item_inbox_stage", table_name="work_item")
    op.drop_index("ix_work_item_inbox_due", table_name="work_item")
    op.drop_index("ix_work_item_inbox_created", table_name="work_item")
    op.create_index("ix_work_item_inbox_created", "work_item", ["office_code", "role", "created_at"])
    op.create_index("ix_work_item_inbox_stage", "work_item", ["office_code", "role", "stage", "instance_id"])
    op.drop_table("inbox_count")
