"""What the studio's migration pages list: running applications of older versions, and the moves made.

The moves themselves (dry run, migrate, undo, history) are services/migration.py; this module only
pages what the policy staff choose from and look back on.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ProcessInstance, Unit, WorkflowDefinition
from app.models.workflow import OPEN_STATUSES
from app.services import migration
from app.services.paging import Paged

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class Candidate:
    """A running application that may be moved: shown by number, unit, version and stage."""

    business_key: str
    unit_name: str
    version: int
    stage: str
    failed: bool  # in the error state: the dry run will say it cannot move


def candidates(session: Session, process_id: str, to_version: int, page: int) -> Paged:
    """Applications not finished, on versions older than `to_version`, oldest first; one page of them."""
    where = (
        WorkflowDefinition.process_id == process_id,
        WorkflowDefinition.version < to_version,
        ProcessInstance.status.in_(OPEN_STATUSES),
    )
    joined = select(ProcessInstance.id).join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
    total = session.scalar(select(func.count()).select_from(joined.where(*where).subquery())) or 0
    page = _within(page, total, PAGE_SIZE)
    query = (
        select(
            ProcessInstance.business_key,
            Unit.name,
            WorkflowDefinition.version,
            ProcessInstance.stage,
            ProcessInstance.status,
        )
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .where(*where)
        .order_by(ProcessInstance.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    rows = [
        Candidate(key, unit, version, stage, status == "error")
        for key, unit, version, stage, status in session.execute(query)
    ]
    return Paged(rows, total, page, PAGE_SIZE)


def history(session: Session, process_id: str, page: int) -> Paged:
    """One page of the procedure's moves, newest first, each saying whether it can still be undone."""
    entries = migration.history(session, process_id)
    page = _within(page, len(entries), HISTORY_PAGE_SIZE)
    start = (page - 1) * HISTORY_PAGE_SIZE
    return Paged(entries[start : start + HISTORY_PAGE_SIZE], len(entries), page, HISTORY_PAGE_SIZE)


def belongs(session: Session, process_id: str, business_key: str) -> bool:
    """Whether the application is one of the procedure's (a page of one procedure acts on no other's)."""
    query = (
        select(ProcessInstance.id)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.business_key == business_key, WorkflowDefinition.process_id == process_id)
    )
    return session.scalar(query) is not None


def _within(page: int, total: int, size: int) -> int:
    return min(max(page, 1), max(1, -(-total // size)))
