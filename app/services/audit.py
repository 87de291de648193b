"""The append-only audit trail: one row per action, never updated or deleted, chained by SM3 (audit_chain.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models._types import utcnow
from app.services import audit_chain


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name, the role they act in, and where from."""

    name: str
    role: str
    ip: str | None = None
    office_code: str | None = None  # reviewers act for their office; checked against the work item


def record(
    session: Session,
    actor: Actor,
    action: str,
    instance_id: int | None = None,
    task: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event now; `task` is (element id, title); decision and reason come from form data."""
    values = event(actor, action, instance_id, task, data, detail)
    audit_chain.append(session.connection(), values)  # table-level statements: this runs on every action


def event(
    actor: Actor,
    action: str,
    instance_id: int | None = None,
    task: tuple[str, str] | None = None,
    data: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of an event `record` appends; the runner appends them with its save (audit_chain.append_at)."""
    data = data or {}
    return dict(
        actor=actor.name,
        role=actor.role,
        ip=actor.ip,
        instance_id=instance_id,
        action=action,
        task_name=task[0] if task else None,
        task_title=task[1] if task else None,
        decision=_short(data.get("decision")),
        reason=_short(data.get("reason"), 2000),
        detail=detail or {},
        at=utcnow(),
    )


def record_at(
    session: Session,
    at: datetime,
    actor: Actor,
    action: str,
    instance_id: int | None,
    task: tuple[str, str] | None,
    detail: dict[str, Any],
) -> None:
    """Append an event that belongs to the engine's time (a test clock moves it), e.g. a 催办 counted per day."""
    values = {**event(actor, action, instance_id, task, None, detail), "at": at}
    audit_chain.append(session.connection(), values)


def _short(value: Any, limit: int = 20) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None
