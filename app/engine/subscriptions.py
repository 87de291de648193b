"""Finding instances that wait: due timers for the worker, message subscribers for a correlation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MessageSubscription, ProcessInstance, TimerSubscription


def claim_due_timer(session: Session, now: datetime) -> int | None:
    """The instance of the oldest due timer; on PostgreSQL other workers skip the locked row."""
    query = (
        select(TimerSubscription.instance_id)
        .join(ProcessInstance, ProcessInstance.id == TimerSubscription.instance_id)
        .where(TimerSubscription.due_at <= now, ProcessInstance.status == "running")
        .order_by(TimerSubscription.due_at)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=TimerSubscription, skip_locked=True)
    instance_id = session.scalar(query)
    if instance_id is None:
        session.rollback()
    return instance_id


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
