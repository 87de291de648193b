"""Finding instances that wait: an instance's due timer, message subscribers for a correlation (the worker's
claims on due timers are app/engine/timer_queue.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MessageSubscription, TimerSubscription


def first_due_timer(session: Session, instance_id: int, now: datetime) -> str | None:
    """The element id of the instance's earliest due timer event (e.g. hang_deadline)."""
    query = (
        select(TimerSubscription.task_name)
        .where(TimerSubscription.instance_id == instance_id, TimerSubscription.due_at <= now)
        .order_by(TimerSubscription.due_at)
        .limit(1)
    )
    return session.scalar(query)


def subscribers(session: Session, message_name: str, keys: list[str]) -> list[int]:
    """Instances waiting for `message_name` under any of the correlation keys."""
    query = (
        select(MessageSubscription.instance_id)
        .where(MessageSubscription.message_name == message_name, MessageSubscription.correlation_key.in_(keys))
        .order_by(MessageSubscription.instance_id)
        .distinct()
    )
    return list(session.scalars(query))
