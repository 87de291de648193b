"""Read side of applications: lists and details, all from tables (no workflow is deserialized)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.definitions import CompiledDefinition
from app.models import AuditEvent, ProcessInstance, TimerSubscription, WorkItem


def find_instance(session: Session, business_key: str) -> ProcessInstance | None:
    return session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == business_key))


def list_instances(
    session: Session, status: str | None = None, unit_id: int | None = None, limit: int = 100
) -> list[ProcessInstance]:
    query = select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(limit)
    if status:
        query = query.where(ProcessInstance.status == status)
    if unit_id:
        query = query.where(ProcessInstance.unit_id == unit_id)
    return list(session.scalars(query))


def list_work_items(
    session: Session,
    role: str | None = None,
    office_code: str | None = None,
    unit_id: int | None = None,
    instance_id: int | None = None,
) -> list[WorkItem]:
    query = select(WorkItem).order_by(WorkItem.created_at, WorkItem.id)
    if role:
        query = query.where(WorkItem.role == role)
    if office_code:
        query = query.where(WorkItem.office_code == office_code)
    if unit_id:
        query = query.where(WorkItem.unit_id == unit_id)
    if instance_id:
        query = query.where(WorkItem.instance_id == instance_id)
    return list(session.scalars(query))


def timeline(session: Session, instance_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    return list(session.scalars(query))


def waiting_timers(session: Session, instance_id: int) -> list[TimerSubscription]:
    query = select(TimerSubscription).where(TimerSubscription.instance_id == instance_id)
    return list(session.scalars(query.order_by(TimerSubscription.due_at)))


def version_of(session: Session, instance_id: int) -> CompiledDefinition:
    """The procedure version an application runs on (its diagram, forms and print templates)."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise LookupError(instance_id)
    return get_engine().definitions.compiled_by_id(session, instance.definition_id)


def item_schema(session: Session, item: WorkItem) -> dict[str, Any]:
    """The form of an open task, from its application's own version."""
    return version_of(session, item.instance_id).forms.schema(item.form or "")
