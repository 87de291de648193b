"""Application numbers shown to users: prefix from the diagram, year, six-digit sequence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import BusinessKeySequence


def next_business_key(session: Session, prefix: str, now: datetime) -> str:
    """e.g. KB2026000123; the counter row is locked by the UPDATE until commit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(BusinessKeySequence).values(prefix=prefix, year=now.year, last=0).on_conflict_do_nothing())
    number = session.execute(
        update(BusinessKeySequence)
        .where(BusinessKeySequence.prefix == prefix, BusinessKeySequence.year == now.year)
        .values(last=BusinessKeySequence.last + 1)
        .returning(BusinessKeySequence.last)
    ).scalar_one()
    return f"{prefix}{now.year}{number:06d}"
