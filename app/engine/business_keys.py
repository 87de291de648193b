"""Application numbers shown to users: prefix from the diagram, year, six-digit sequence.

A number is taken when the application is first submitted, in that transaction: numbers run without
gaps in the order of submission, and an application the unit gives up before submitting takes none.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import BusinessKeySequence
from app.models.workflow import PROVISIONAL_KEY
from app.services.calendar import to_beijing_date

_TOKEN_BYTES = 7  # "draft-" and 14 hex digits: the 20 characters of the column


def _take_next(dialect: str) -> Insert:
    """The first number of a prefix and year, or the next: one upsert that locks the counter row until commit."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = BusinessKeySequence.__table__
    first = insert(table).values(prefix=bindparam("prefix"), year=bindparam("year"), last=1)
    taken = first.on_conflict_do_update(index_elements=["prefix", "year"], set_={"last": table.c.last + 1})
    return taken.returning(table.c.last)


_TAKE_NEXT = {dialect: _take_next(dialect) for dialect in ("postgresql", "sqlite")}  # built once: every submission


def next_business_key(session: Session, prefix: str, now: datetime) -> str:
    """e.g. KB2026000123 (the Beijing year); the counter row is locked until commit."""
    year = to_beijing_date(now).year
    statement = _TAKE_NEXT[session.get_bind().dialect.name]
    number = session.connection().execute(statement, {"prefix": prefix, "year": year}).scalar_one()
    return f"{prefix}{year}{number:06d}"


def provisional_key() -> str:
    """The key of an application not submitted yet: unique without taking a number from the sequence."""
    return PROVISIONAL_KEY + secrets.token_hex(_TOKEN_BYTES)
