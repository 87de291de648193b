"""Deployed versions of the procedures: find, list with who/when/why and how many applications run on each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ProcessInstance, WorkflowDefinition
from app.models.workflow import OPEN_STATUSES


@dataclass(frozen=True)
class VersionRow:
    definition: WorkflowDefinition
    running: int  # applications still under way on this version
    total: int  # applications ever started on it


def find(session: Session, process_id: str, number: int | None = None) -> WorkflowDefinition | None:
    """Version `number` of a procedure, or its newest."""
    query = select(WorkflowDefinition).where(WorkflowDefinition.process_id == process_id)
    if number is not None:
        return session.scalar(query.where(WorkflowDefinition.version == number))
    return session.scalar(query.order_by(WorkflowDefinition.version.desc()).limit(1))


def history(session: Session, process_id: str) -> list[VersionRow]:
    """Every version, newest first, with its application counts."""
    running = func.count(ProcessInstance.id).filter(ProcessInstance.status.in_(OPEN_STATUSES))
    query = (
        select(WorkflowDefinition, running, func.count(ProcessInstance.id))
        .outerjoin(ProcessInstance, ProcessInstance.definition_id == WorkflowDefinition.id)
        .where(WorkflowDefinition.process_id == process_id)
        .group_by(WorkflowDefinition.id)
        .order_by(WorkflowDefinition.version.desc())
    )
    return [VersionRow(row, int(live), int(total)) for row, live, total in session.execute(query)]
