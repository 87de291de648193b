"""Application numbers shown to users: prefix from the diagram, year, six-digit sequence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import BusinessKeySequence
from app.services.calendar import to_beijing_date


def next_business_key(session: Session, prefix: str, now: datetime) -> str:
    """e.g. KB2026000123 (the Beijing year); the counter row is locked by the UPDATE until commit."""
    year = to_beijing_date(now).year
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(BusinessKeySequence).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
    number = session.execute(
        update(BusinessKeySequence)
        .where(BusinessKeySequence.prefix == prefix, BusinessKeySequence.year == year)
        .values(last=BusinessKeySequence.last + 1)
        .returning(BusinessKeySequence.last)
    ).scalar_one()
    return f"{prefix}{year}{number:06d}"
