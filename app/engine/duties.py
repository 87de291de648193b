"""Separation of duties (不得由同一人办理), a property of a user task in the diagram.

`separateDuties` lists element ids, comma-separated: whoever completed the latest of those
elements in this application may not complete this task. The task's own id means its other
copies: the parallel copies of a 会签 (multi-instance) task each need a different person.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.definitions import CompiledDefinition
from app.engine.errors import RefusedError
from app.models import AuditEvent

PROPERTY = "separateDuties"
_ACTOR = "actor"  # who completed a task, kept in its internal data (saved with the state)


def check(session: Session, compiled: CompiledDefinition, task: Any, instance_id: int, actor: str) -> None:
    """Refuse `actor` if the diagram says this task needs someone other than who did the listed ones."""
    element = task.task_spec.bpmn_id
    for other in _listed(compiled, element):
        if other == element and _did_a_copy(task, actor):
            raise RefusedError("本环节须由不同人员分别办理（会签），您已办理过其中一份，请由其他同事办理")
        if other != element and _latest_actor(session, instance_id, other) == actor:
            title = compiled.names.get(other, other)
            raise RefusedError(f"本环节不得由办理“{title}”的同一人办理，请由其他同事办理")


def mark(task: Any, actor: str) -> None:
    task.internal_data[_ACTOR] = actor


def _listed(compiled: CompiledDefinition, element: str) -> list[str]:
    value = compiled.element_properties(element).get(PROPERTY, "")
    return [e.strip() for e in value.split(",") if e.strip()]


def _did_a_copy(task: Any, actor: str) -> bool:
    """Whether `actor` completed another copy of this multi-instance task in this round."""
    parent = task.parent
    copies = parent.children if parent is not None else []
    return any(
        c is not task and c.task_spec is task.task_spec and c.state == TaskState.COMPLETED
        and c.internal_data.get(_ACTOR) == actor
        for c in copies
    )


def _latest_actor(session: Session, instance_id: int, element: str) -> str | None:
    query = (
        select(AuditEvent.actor)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.task_name == element, AuditEvent.action == "complete")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return session.scalar(query)
