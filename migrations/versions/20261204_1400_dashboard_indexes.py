"""统计 at national scale: indexes on the dated columns the figures filter on, and task waits kept as they happen

The application, registration and fee figures filter on `process_instance.created_at`, `domain.registered_on`
and `charge.collected_at`: each gets an index (on PostgreSQL carrying the columns the figures group by, so a
period is one index range). `process_instance.region_code` copies the unit's region like `work_item.region_code`
(triggers on insert and when the unit moves), so applications are grouped by region without joining units.

The time per task grouped every `complete` audit event of the period, parsing its JSON detail and joining its
application; for CONAC over three years that was about 400 000 rows sorted for the medians. Triggers now copy
each completion's wait, in the transaction that appends the audit event, to `task_wait` (one row per
completion, indexed by group and wait) and `task_wait_hour` (per Beijing month, diagram version, task, role and
whole hour of wait: count and seconds), and follow an application moved to another diagram version. Existing
completions are copied here.

Revision ID: fj13a0000006
Revises: fi13a0000005
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "fj13a0000006"
down_revision = "fi13a0000005"
branch_labels = None
depends_on = None

NUMBERED = "business_key NOT LIKE 'draft-%'"  # the figures count numbered applications only

# (name, table, columns, PostgreSQL INCLUDE, partial predicate)
INDEXES = (
    ("ix_process_instance_numbered_created", "process_instance", ["created_at"],
     ["definition_id", "stage", "region_code", "id"], NUMBERED),
    ("ix_process_instance_region", "process_instance", ["region_code"], ["id"], None),
    ("ix_domain_registered_on", "domain", ["registered_on"], ["unit_id"], None),
    ("ix_charge_collected_at", "charge", ["collected_at"], ["unit_id", "amount_yuan"], None),
)  # fmt: skip

# A completion's wait and where it is counted; an application's copy of its unit's region (domain_region_from_unit
# is migration fa13a0000001's, which domain and work_item use alike). One statement per entry.
POSTGRESQL_TRIGGERS = (
    """
    CREATE TRIGGER process_instance_region BEFORE INSERT OR UPDATE OF unit_id, region_code ON process_instance
    FOR EACH ROW EXECUTE FUNCTION domain_region_from_unit()
    """,
    """
    CREATE FUNCTION process_instance_region_follows_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE process_instance SET region_code = NEW.region_code WHERE unit_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER unit_process_instance_region AFTER UPDATE OF region_code ON unit
    FOR EACH ROW WHEN (OLD.region_code IS DISTINCT FROM NEW.region_code)
    EXECUTE FUNCTION process_instance_region_follows_unit()
    """,
    """
    CREATE FUNCTION task_wait_on_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      waited integer := round((NEW.detail ->> 'waited_seconds')::numeric);
    BEGIN
      IF waited IS NULL THEN
        RETURN NULL;
      END IF;
      INSERT INTO task_wait (event_id, at, instance_id, definition_id, task_title, role, waited_seconds)
      SELECT NEW.id, NEW.at, NEW.instance_id, definition_id, coalesce(NEW.task_title, ''), NEW.role, waited
      FROM process_instance WHERE id = NEW.instance_id;
      INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
      SELECT to_char(NEW.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), definition_id, coalesce(NEW.task_title, ''),
             NEW.role, waited / 3600, 1, waited
      FROM process_instance WHERE id = NEW.instance_id
      ON CONFLICT (month, definition_id, task_title, role, hour)
      DO UPDATE SET n = task_wait_hour.n + 1, seconds = task_wait_hour.seconds + EXCLUDED.seconds;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER audit_event_task_wait AFTER INSERT ON audit_event
    FOR EACH ROW WHEN (NEW.action = 'complete') EXECUTE FUNCTION task_wait_on_audit_event()
    """,
    """
    CREATE FUNCTION task_wait_on_definition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE task_wait_hour h SET n = h.n - w.k, seconds = h.seconds - w.s
      FROM (SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, task_title, role,
                   waited_seconds / 3600 AS hour, count(*) AS k, sum(waited_seconds) AS s
            FROM task_wait WHERE instance_id = NEW.id GROUP BY 1, 2, 3, 4) w
      WHERE h.month = w.month AND h.definition_id = OLD.definition_id AND h.task_title = w.task_title
        AND h.role = w.role AND h.hour = w.hour;
      INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
      SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), NEW.definition_id, task_title, role,
             waited_seconds / 3600, count(*), sum(waited_seconds)
      FROM task_wait WHERE instance_id = NEW.id GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (month, definition_id, task_title, role, hour)
      DO UPDATE SET n = task_wait_hour.n + EXCLUDED.n, seconds = task_wait_hour.seconds + EXCLUDED.seconds;
      UPDATE task_wait SET definition_id = NEW.definition_id WHERE instance_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER process_instance_task_wait AFTER UPDATE OF definition_id ON process_instance
    FOR EACH ROW WHEN (OLD.definition_id IS DISTINCT FROM NEW.definition_id)
    EXECUTE FUNCTION task_wait_on_definition()
    """,
)

_SQLITE_MONTH = "strftime('%Y-%m', {}, '+8 hours')"  # as app/services/dashboard_sql.beijing_month
SQLITE_TRIGGERS = (
    # SQLite triggers cannot change NEW: the copy is written right after the row.
    """
    CREATE TRIGGER process_instance_region_insert AFTER INSERT ON process_instance BEGIN
      UPDATE process_instance SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id)
      WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER process_instance_region_update AFTER UPDATE OF unit_id, region_code ON process_instance
    WHEN NEW.region_code IS NOT (SELECT region_code FROM unit WHERE id = NEW.unit_id) BEGIN
      UPDATE process_instance SET region_code = (SELECT region_code FROM unit WHERE id = NEW.unit_id)
      WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER unit_process_instance_region AFTER UPDATE OF region_code ON unit
    WHEN OLD.region_code IS NOT NEW.region_code BEGIN
      UPDATE process_instance SET region_code = NEW.region_code WHERE unit_id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER audit_event_task_wait AFTER INSERT ON audit_event
    WHEN NEW.action = 'complete' AND json_extract(NEW.detail, '$.waited_seconds') IS NOT NULL BEGIN
      INSERT INTO task_wait (event_id, at, instance_id, definition_id, task_title, role, waited_seconds)
      SELECT NEW.id, NEW.at, NEW.instance_id, definition_id, coalesce(NEW.task_title, ''), NEW.role,
             CAST(round(json_extract(NEW.detail, '$.waited_seconds')) AS INTEGER)
      FROM process_instance WHERE id = NEW.instance_id;
      INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
      SELECT {_SQLITE_MONTH.format("at")}, definition_id, task_title, role, waited_seconds / 3600, 1, waited_seconds
      FROM task_wait WHERE event_id = NEW.id
      ON CONFLICT (month, definition_id, task_title, role, hour)
      DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds;
    END
    """,
    f"""
    CREATE TRIGGER process_instance_task_wait AFTER UPDATE OF definition_id ON process_instance
    WHEN OLD.definition_id IS NOT NEW.definition_id BEGIN
      UPDATE task_wait_hour SET
        n = n - (SELECT count(*) FROM task_wait w WHERE w.instance_id = NEW.id
                 AND {_SQLITE_MONTH.format("w.at")} = task_wait_hour.month AND w.task_title = task_wait_hour.task_title
                 AND w.role = task_wait_hour.role AND w.waited_seconds / 3600 = task_wait_hour.hour),
        seconds = seconds - (SELECT coalesce(sum(waited_seconds), 0) FROM task_wait w WHERE w.instance_id = NEW.id
                 AND {_SQLITE_MONTH.format("w.at")} = task_wait_hour.month AND w.task_title = task_wait_hour.task_title
                 AND w.role = task_wait_hour.role AND w.waited_seconds / 3600 = task_wait_hour.hour)
      WHERE definition_id = OLD.definition_id;
      INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
      SELECT {_SQLITE_MONTH.format("at")}, NEW.definition_id, task_title, role, waited_seconds / 3600, count(*),
             sum(waited_seconds)
      FROM task_wait WHERE instance_id = NEW.id GROUP BY 1, 3, 4, 5
      ON CONFLICT (month, definition_id, task_title, role, hour)
      DO UPDATE SET n = n + excluded.n, seconds = seconds + excluded.seconds;
      UPDATE task_wait SET definition_id = NEW.definition_id WHERE instance_id = NEW.id;
    END
    """,
)

DROPS = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS process_instance_task_wait ON process_instance",
        "DROP TRIGGER IF EXISTS audit_event_task_wait ON audit_event",
        "DROP FUNCTION IF EXISTS task_wait_on_definition()",
        "DROP FUNCTION IF EXISTS task_wait_on_audit_event()",
        "DROP TRIGGER IF EXISTS unit_process_instance_region ON unit",
        "DROP TRIGGER IF EXISTS process_instance_region ON process_instance",
        "DROP FUNCTION IF EXISTS process_instance_region_follows_unit()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS process_instance_task_wait",
        "DROP TRIGGER IF EXISTS audit_event_task_wait",
        "DROP TRIGGER IF EXISTS unit_process_instance_region",
        "DROP TRIGGER IF EXISTS process_instance_region_update",
        "DROP TRIGGER IF EXISTS process_instance_region_insert",
    ),
}

# The completions recorded before the triggers, copied as the triggers would have.
BACKFILL = {
    "postgresql": (
        """
        INSERT INTO task_wait (event_id, at, instance_id, definition_id, task_title, role, waited_seconds)
        SELECT e.id, e.at, e.instance_id, p.definition_id, coalesce(e.task_title, ''), e.role,
               round((e.detail ->> 'waited_seconds')::numeric)
        FROM audit_event e JOIN process_instance p ON p.id = e.instance_id
        WHERE e.action = 'complete' AND e.detail ->> 'waited_seconds' IS NOT NULL
        """,
        """
        INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
        SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), definition_id, task_title, role,
               waited_seconds / 3600, count(*), sum(waited_seconds)
        FROM task_wait GROUP BY 1, 2, 3, 4, 5
        """,
    ),
    "sqlite": (
        """
        INSERT INTO task_wait (event_id, at, instance_id, definition_id, task_title, role, waited_seconds)
        SELECT e.id, e.at, e.instance_id, p.definition_id, coalesce(e.task_title, ''), e.role,
               CAST(round(json_extract(e.detail, '$.waited_seconds')) AS INTEGER)
        FROM audit_event e JOIN process_instance p ON p.id = e.instance_id
        WHERE e.action = 'complete' AND json_extract(e.detail, '$.waited_seconds') IS NOT NULL
        """,
        f"""
        INSERT INTO task_wait_hour (month, definition_id, task_title, role, hour, n, seconds)
        SELECT {_SQLITE_MONTH.format("at")}, definition_id, task_title, role, waited_seconds / 3600, count(*),
               sum(waited_seconds)
        FROM task_wait GROUP BY 1, 2, 3, 4, 5
        """,
    ),
}


def upgrade():
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: recreating process_instance on SQLite would drop its triggers.
    op.add_column("process_instance", sa.Column("region_code", sa.String(length=6), nullable=True))
    op.execute(
        "UPDATE process_instance SET region_code = "
        "(SELECT unit.region_code FROM unit WHERE unit.id = process_instance.unit_id)"
    )
    for name, table, columns, include, where in INDEXES:
        predicate = {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)} if where else {}
        op.create_index(name, table, columns, postgresql_include=include, **predicate)
    op.create_table(
        "task_wait",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("task_title", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("waited_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_task_wait_group", "task_wait", ["definition_id", "task_title", "role", "waited_seconds", "at"])
    op.create_index("ix_task_wait_instance", "task_wait", ["instance_id", "at"])
    op.create_table(
        "task_wait_hour",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("definition_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("task_title", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "definition_id", "task_title", "role", "hour"),
    )
    for statement in BACKFILL[dialect]:
        op.execute(statement)
    for statement in POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    for statement in DROPS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table("task_wait_hour")
    op.drop_table("task_wait")
    for name, table, *_ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.execute("ALTER TABLE process_instance DROP COLUMN region_code")  # SQLite 3.35+: no rebuild, triggers kept
