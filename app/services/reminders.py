"""催办: a unit reminds the reviewing office of an overdue review, at most once a day per application."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Office, ProcessInstance, WorkItem
from app.services import audit, notifications
from app.services.audit import Actor
from app.services.calendar import BEIJING, to_beijing_date
from app.services.errors import ServiceRefusal

ACTION = "remind"
SUBJECT = "催办"
NOT_OVERDUE = "审核尚未超期，暂不能催办"
ALREADY_TODAY = "今天已催办过，请明天再试"


@dataclass(frozen=True)
class ReminderState:
    """Whether the unit may remind now; `reason` says why not."""

    overdue: list[WorkItem]
    reminded_today: bool

    @property
    def allowed(self) -> bool:
        return bool(self.overdue) and not self.reminded_today

    @property
    def reason(self) -> str:
        if not self.overdue:
            return NOT_OVERDUE
        return ALREADY_TODAY if self.reminded_today else ""


def state(session: Session, instance: ProcessInstance, now: datetime) -> ReminderState:
    """The reviewers' overdue open items on the application and whether it was reminded today (Beijing)."""
    overdue = session.scalars(
        select(WorkItem)
        .where(WorkItem.instance_id == instance.id, WorkItem.role != "单位", WorkItem.due_at < now)
        .order_by(WorkItem.due_at)
    )
    start = datetime.combine(to_beijing_date(now), time.min, BEIJING).astimezone(UTC)
    reminded = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.instance_id == instance.id,
            AuditEvent.action == ACTION,
            AuditEvent.at >= start,
            AuditEvent.at < start + timedelta(days=1),
        )
    )
    return ReminderState(list(overdue), bool(reminded))


def remind(session: Session, instance: ProcessInstance, actor: Actor, unit_name: str, now: datetime) -> ReminderState:
    """Queue a 催办 to each office with an overdue item and audit it; refused when not allowed (flushes)."""
    current = state(session, instance, now)
    if not current.allowed:
        raise ServiceRefusal(current.reason)
    for item in current.overdue:
        due = item.due_at.astimezone(BEIJING).strftime("%Y-%m-%d") if item.due_at else ""
        body = f"{unit_name}催办申请 {instance.business_key}：“{item.title}”已超过办理期限（{due}），请尽快办理。"
        recipient = {notifications.OFFICE_CHANNEL: item.office_code} if item.office_code else {}
        notifications.queue(session, instance.id, recipient, SUBJECT, body, now)
    first = current.overdue[0]
    detail = {"offices": [item.office_code for item in current.overdue]}
    audit.record_at(session, now, actor, ACTION, instance.id, (first.task_name, first.title), detail)
    session.flush()
    return current


def office_names(session: Session, state: ReminderState) -> list[str]:
    """The names of the offices a 催办 went to (their reviewers read it in the 消息中心)."""
    codes = sorted({item.office_code for item in state.overdue if item.office_code})
    return list(session.scalars(select(Office.name).where(Office.code.in_(codes)).order_by(Office.name)))
