"""到期域名 name filter flat: `domain.unit_name` copies its unit's name (triggers), indexed for the filter

Filtering the 到期域名 query by a common word of the unit name (图书馆) went through the units, so the
bounded counts of a big office visited every domain of its jurisdiction and its unit. The unit's name is
now copied onto the domain like `domain.region_code` (migration fa13a0000001): taken on insert and when
the domain changes unit, followed when the unit is renamed. On PostgreSQL the jurisdiction index also
carries the columns the filters test (INCLUDE), so the counts are index-only reads, and a pg_trgm GIN
index serves a rare name. SQLite keeps the plain index and tests the rows.

Revision ID: fi13a0000005
Revises: ff12a0000003
Create Date: 2026-12-04 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "fi13a0000005"
down_revision = "ff12a0000003"
branch_labels = None
depends_on = None

INDEX = "ix_domain_status_region_expiry"
INDEX_COLUMNS = ["status", "region_code", "expires_on", "id"]
COVERED = ["suffix", "name", "unit_name"]  # what the 到期域名 filters test besides the index's own columns

POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION domain_unit_name_from_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.unit_name := (SELECT name FROM unit WHERE id = NEW.unit_id);
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER domain_unit_name BEFORE INSERT OR UPDATE OF unit_id, unit_name ON domain
    FOR EACH ROW EXECUTE FUNCTION domain_unit_name_from_unit()
    """,
    """
    CREATE FUNCTION domain_unit_name_follows_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE domain SET unit_name = NEW.name WHERE unit_id = NEW.id;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER unit_domain_unit_name AFTER UPDATE OF name ON unit
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION domain_unit_name_follows_unit()
    """,
)

# SQLite triggers cannot change NEW: the copy is written right after the row.
SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER domain_unit_name_insert AFTER INSERT ON domain BEGIN
      UPDATE domain SET unit_name = (SELECT name FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER domain_unit_name_update AFTER UPDATE OF unit_id, unit_name ON domain
    WHEN NEW.unit_name IS NOT (SELECT name FROM unit WHERE id = NEW.unit_id) BEGIN
      UPDATE domain SET unit_name = (SELECT name FROM unit WHERE id = NEW.unit_id) WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER unit_domain_unit_name AFTER UPDATE OF name ON unit
    WHEN OLD.name IS NOT NEW.name BEGIN
      UPDATE domain SET unit_name = NEW.name WHERE unit_id = NEW.id;
    END
    """,
)

DROPS = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS unit_domain_unit_name ON unit",
        "DROP TRIGGER IF EXISTS domain_unit_name ON domain",
        "DROP FUNCTION IF EXISTS domain_unit_name_follows_unit()",
        "DROP FUNCTION IF EXISTS domain_unit_name_from_unit()",
        "DROP INDEX IF EXISTS ix_domain_unit_name_trgm",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS unit_domain_unit_name",
        "DROP TRIGGER IF EXISTS domain_unit_name_update",
        "DROP TRIGGER IF EXISTS domain_unit_name_insert",
    ),
}


def upgrade():
    # Plain ADD COLUMN / CREATE INDEX, not batch mode: recreating `domain` on SQLite would drop its triggers.
    op.add_column("domain", sa.Column("unit_name", sa.String(length=120), nullable=True))
    op.execute("UPDATE domain SET unit_name = (SELECT name FROM unit WHERE unit.id = domain.unit_id)")
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)
    if dialect != "postgresql":
        return
    op.drop_index(INDEX, table_name="domain")
    op.create_index(INDEX, "domain", INDEX_COLUMNS, postgresql_include=COVERED)
    trigram = op.get_bind().exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar()
    if trigram is not None:  # created by fa13a0000001 where the server ships it
        op.execute("CREATE INDEX ix_domain_unit_name_trgm ON domain USING gin (unit_name gin_trgm_ops)")


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in DROPS.get(dialect, ()):
        op.execute(statement)
    if dialect == "postgresql":
        op.drop_index(INDEX, table_name="domain")
        op.create_index(INDEX, "domain", INDEX_COLUMNS)
    op.execute("ALTER TABLE domain DROP COLUMN unit_name")  # SQLite 3.35+: no table rebuild, triggers kept
