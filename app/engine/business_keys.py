"""Application numbers shown to users: prefix from the diagram, year, six-digit sequence.

A number is taken when the application is first submitted, in that transaction: numbers run without
gaps in the order of submission, and an application the unit gives up before submitting takes none.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import BusinessKeySequence
from app.models.workflow import PROVISIONAL_KEY
from app.services.calendar import to_beijing_date

_TOKEN_BYTES = 7  # "draft-" and 14 hex digits: the 20 characters of the column


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


def provisional_key() -> str:
    """The key of an application not submitted yet: unique without taking a number from the sequence."""
    return PROVISIONAL_KEY + secrets.token_hex(_TOKEN_BYTES)
