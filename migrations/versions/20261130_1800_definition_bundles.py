"""a deployed version is a bundle: the diagram with the forms and print templates it uses, and a comment

Revision ID: 7b2d9c4e1f30
Revises: 5e1c0a7d2b91
Create Date: 2026-11-30 18:00:00

Versions deployed before this stored only their XML and read forms and templates from the
repository's folders when used. The upgrade stores with each such version the files it uses
today (forms named by its elements; for a procedure with printable documents, the templates
that named it) and rehashes the version over the whole bundle.
"""
import hashlib
import re
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '7b2d9c4e1f30'
down_revision = '5e1c0a7d2b91'
branch_labels = None
depends_on = None

ROOT = Path(__file__).resolve().parents[2]
_FORM = re.compile(r'name="(?:formJsonSchemaFilename|formUiSchemaFilename|startFormJsonSchemaFilename)"\s+value="([^"]+)"')


def _documents():
    """Every print template: before bundles, the one procedure that printed used all of them."""
    return {
        f"documents/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "documents").glob("*"))
        if path.suffix in (".md", ".json")
    }


def _files_of(xml):
    files = {}
    for name in dict.fromkeys(_FORM.findall(xml)):
        path = ROOT / "forms" / name
        if path.is_file():
            files[f"forms/{name}"] = path.read_text(encoding="utf-8")
    if "documentsAvailableAfter" in xml:
        files.update(_documents())
    return files


def _sha256(xml, files):
    digest = hashlib.sha256(xml.encode("utf-8"))
    for path in sorted(files):
        digest.update(b"\0" + path.encode() + b"\0" + files[path].encode())
    return digest.hexdigest()


def upgrade():
    with op.batch_alter_table('workflow_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('files', sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    table = sa.table('workflow_definition', sa.column('id'), sa.column('xml'), sa.column('sha256'),
                     sa.column('files', sa.JSON(none_as_null=True)))
    for row_id, xml in connection.execute(sa.select(table.c.id, table.c.xml)).all():
        files = _files_of(xml)
        connection.execute(
            table.update().where(table.c.id == row_id).values(files=files, sha256=_sha256(xml, files))
        )


def downgrade():
    with op.batch_alter_table('workflow_definition', schema=None) as batch_op:
        batch_op.drop_column('comment')
        batch_op.drop_column('files')
