"""How long completed tasks waited, kept for the 统计 page's time per task (app/services/dashboards.py).

Both tables are written only by database triggers (migration fj13a0000006) in the transaction that appends a
`complete` audit event carrying `waited_seconds`, and follow an application moved to another diagram version,
so they always hold exactly the completions the audit trail has.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime


class TaskWait(db.Model):
    """One completion and its wait. A group's median is read off the group index: only the rows of one hour
    of waits are visited (TaskWaitHour says which hour holds the middle)."""

    __table_args__ = (
        Index("ix_task_wait_group", "definition_id", "task_title", "role", "waited_seconds", "at"),
        Index("ix_task_wait_instance", "instance_id", "at"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # audit_event.id
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[int] = mapped_column(Integer)
    definition_id: Mapped[int] = mapped_column(Integer)  # the application's diagram version
    task_title: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    waited_seconds: Mapped[int] = mapped_column(Integer)


class TaskWaitHour(db.Model):
    """Completions per Beijing month, diagram version, task and role, and whole hour of wait: how many and
    their seconds. The national figures add these up instead of visiting every completion."""

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, Beijing
    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    task_title: Mapped[str] = mapped_column(String(120), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # waited_seconds // 3600
    n: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(BigInteger)
