"""Form drafts: what a user typed into an open task and has not submitted successfully yet.

A draft belongs to one task and one user. It is saved on 保存草稿 and also when a submission is
refused by validation, so nothing typed is lost; it is deleted once the task is completed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Draft


def load(session: Session, task_id: str, user_id: int) -> dict[str, Any] | None:
    """The saved draft data, or None when the user saved none for this task."""
    draft = find(session, task_id, user_id)
    return dict(draft.data) if draft is not None else None


def save(session: Session, task_id: str, user_id: int, data: dict[str, Any], now: datetime) -> Draft:
    """Create or replace the user's draft of this task (flushes; the caller commits)."""
    draft = find(session, task_id, user_id)
    if draft is None:
        draft = Draft(task_id=task_id, user_id=user_id)
        session.add(draft)
    draft.data = dict(data)
    draft.updated_at = now
    session.flush()
    return draft


def delete(session: Session, task_id: str, user_id: int | None = None) -> None:
    """Forget the user's draft of a task, or every draft of it once it is completed (caller commits)."""
    query = sql_delete(Draft).where(Draft.task_id == task_id)
    if user_id is not None:
        query = query.where(Draft.user_id == user_id)
    session.execute(query)


def find(session: Session, task_id: str, user_id: int) -> Draft | None:
    """The user's draft row of a task, if any."""
    return session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == user_id))
