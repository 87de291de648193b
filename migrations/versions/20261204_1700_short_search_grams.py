"""Search by one or two characters through an index (PostgreSQL): `short_grams(text)` is every character and
every pair of adjacent characters of a text, and GIN indexes on it for unit names, domain names and the
domains' copy of their unit's name.

Chinese names are searched by short words (教育, 医院, 公安). pg_trgm's indexes (migration fa13a0000001) need
three characters: a shorter string has no trigram, so such a search read the whole table. With these indexes
`short_grams(name) @> ARRAY['教育']` narrows the rows first and LIKE then checks them. SQLite keeps scanning.

Revision ID: fm13a0000009
Revises: fl13a0000008
Create Date: 2026-12-04 17:00:00
"""

from alembic import op

revision = "fm13a0000009"
down_revision = "fl13a0000008"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_unit_name_short_grams", "unit", "name"),
    ("ix_domain_name_short_grams", "domain", "name"),
    ("ix_domain_unit_name_short_grams", "domain", "unit_name"),
)
# IMMUTABLE: the same text always gives the same grams (no collation or locale is involved), so an index may
# hold them. STRICT: a NULL name has none.
FUNCTION = """
CREATE FUNCTION short_grams(value text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT gram), '{}') FROM (
    SELECT substr(value, i, 1) AS gram FROM generate_series(1, char_length(value)) AS i
    UNION ALL
    SELECT substr(value, i, 2) FROM generate_series(1, char_length(value) - 1) AS i
  ) AS grams
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for name, table, column in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (short_grams({column}))")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _column in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS short_grams(text)")
