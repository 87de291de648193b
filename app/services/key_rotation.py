"""Key rotation for personal data sealed at rest (docs/personal-data.md).

Every column declared with a sealed type (app/models/_types.py) is found from the models' metadata, so a
column sealed later is rotated without touching this file. Values are read as stored text and re-sealed
under the current key in batches, one transaction each: a run that stops half way is simply run again.
Rows are updated with Core statements, not ORM objects: rotation changes no value, only its ciphertext, so
no version counter moves and no running application sees a conflict.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Integer, Text, bindparam, column, select, table, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnClause

from app.extensions import db
from app.field_encryption import PREFIX, Keyring
from app.models._types import SealedType

BATCH = 500


@dataclass(frozen=True)
class SealedColumn:
    table: str
    column: str

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"


def sealed_columns() -> list[SealedColumn]:
    found = []
    for model_table in db.metadata.sorted_tables:
        for model_column in model_table.columns:
            if isinstance(model_column.type, SealedType):
                found.append(SealedColumn(model_table.name, model_column.name))
    return found


def key_usage(session: Session) -> dict[str, Counter[str]]:
    """Per sealed column, how many values each key id sealed (what a rotation still has to move)."""
    usage: dict[str, Counter[str]] = {}
    for sealed in sealed_columns():
        stored = _stored(sealed)
        values = session.scalars(select(stored).where(stored.isnot(None)))
        usage[sealed.context] = Counter(value.split(".", 2)[1] for value in values)
    return usage


def rotate(session: Session, keyring: Keyring) -> int:
    """Re-seal every value not sealed by the current key; returns how many were re-sealed."""
    return sum(_rotate_column(session, sealed, keyring) for sealed in sealed_columns())


def _rotate_column(session: Session, sealed: SealedColumn, keyring: Keyring) -> int:
    stored = _stored(sealed)
    row_id = stored.table.c.id
    stale = select(row_id, stored).where(stored.isnot(None), stored.not_like(f"{PREFIX}.{keyring.current.key_id}.%"))
    change = update(stored.table).where(row_id == bindparam("row_id")).values({sealed.column: bindparam("value")})
    moved = 0
    while batch := session.execute(stale.order_by(row_id).limit(BATCH)).all():  # re-sealed rows drop out
        session.execute(change, [{"row_id": i, "value": _reseal(keyring, v, sealed.context)} for i, v in batch])
        session.commit()
        moved += len(batch)
    return moved


def _reseal(keyring: Keyring, value: str, context: str) -> str:
    return keyring.seal(keyring.unseal(value, context), context)


def _stored(sealed: SealedColumn) -> ColumnClause[str]:
    """The column as stored text, past its sealed type."""
    return table(sealed.table, column("id", Integer), column(sealed.column, Text)).c[sealed.column]
